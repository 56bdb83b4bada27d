from shlepa.cli import app

app()
