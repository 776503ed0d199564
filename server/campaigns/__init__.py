"""What coordinators set up in a campaign: turfs and the households in them, forms."""
