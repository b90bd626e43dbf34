"""Pregón's infrastructure: the AWS deployment and, in ``infrastructure.local``, the local stack."""
