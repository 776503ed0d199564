"""Tests of server/access: accounts, the access policy on every read and write path, the permission matrix."""
