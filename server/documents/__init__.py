"""The one write path (what each stored document must be, checked the same whether it comes over /sync, REST or the command line), and how the server reads a campaign's documents."""
