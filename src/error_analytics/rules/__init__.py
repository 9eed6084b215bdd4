"""Classification and masking rules, as data, and the code that applies them.

(Placeholder API; the full rule tables are being written.)
"""
