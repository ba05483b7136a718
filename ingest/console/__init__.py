"""The web console: server-rendered pages for the people on call, behind a login (app.py)."""
