"""The communications register per client (H2): every message sent to or received from a
client appears in it by itself (the communication carries ``client_id``), and staff add records
by hand (a visit, a call...). Views over the one communications store: the ``by-client`` index.
"""
