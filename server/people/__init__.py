"""Recruitment: the roster's rules, the visits and sign-ups index it is built from, roster exports and the export log."""
