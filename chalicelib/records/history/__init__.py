"""History per channel (H1): the e-mails, SMS and push messages of a company, newest first, as
views over the same communication items the outbox writes; view one as sent, resend one or many,
filter, save filters per user ("my filters"), export to Excel.

Who sees what: staff of levels 1 to 3 see the company's whole history; a level-4 user sees only
the messages they sent themselves (manual sends and resends they made), the same "own only"
rule the notes follow (N2). See docs/history-and-register.md.
"""
