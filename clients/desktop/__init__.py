"""The Skirmish desktop client (pygame on the client library): `python -m clients.desktop`."""
