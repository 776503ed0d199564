"""What coordinators see of the drives: meetings, progress, phones, follow-up between meetings and the survey."""
