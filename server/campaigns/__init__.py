"""What coordinators set up in a campaign: its documents read by id and type, turfs and the households in them, forms."""
