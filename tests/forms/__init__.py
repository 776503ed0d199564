"""Tests of forms/: definitions, the expression language and field checks (shared vectors, both languages), XLSForm."""
