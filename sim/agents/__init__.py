"""Agents and their processes: facilities, mentees, mentors and the WhatsApp group."""
