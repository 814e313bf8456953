"""Skirmish clients: the browser client (served by Django), the Python library, desktop, bots."""
