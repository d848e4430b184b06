"""`adminbot check-rules`, the offline rule tester: its report (`report.py`).

It sits above what it uses, the rules (the file read by `adminbot.rules.reading`, cut
into spans by `adminbot.rules.spans`, classified) and the kinds of the errors no rule
matched (`adminbot.kinds`); nothing below imports it.
"""
