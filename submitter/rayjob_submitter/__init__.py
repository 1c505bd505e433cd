"""rayjob-submit: submits one Ray job through the dashboard REST API and follows it to the end."""
