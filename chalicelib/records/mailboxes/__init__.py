"""Staff IMAP mailboxes in the client register (H3, seed 004): settings (``accounts``), the IMAP
connection (``imap``), synchronisation into the register (``sync``), and replying from a record
(``replies``)."""

# The queue of mailbox syncs, one mailbox per message (import-light: the event blueprint names it).
MAILBOX_SYNCS_QUEUE = "pregon-mailbox-syncs"
