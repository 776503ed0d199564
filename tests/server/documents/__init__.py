"""Tests of server/documents: what each document type must be, and the one write path."""
