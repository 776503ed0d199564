"""Records: how concurrent edits of a record merge on arrival (field stamps, policies, the review queue)."""
