"""Messaging: what Pregón sends and how it is written (message types, templates, C4).

``messaging.templates`` holds the catalog of message types (their sender area, the variables they
offer and sample data for previews) and the use cases on a company's templates: the effective
template (the company's override or the shipped default in the company's language), saving an
override after validating it in the sandbox, going back to the default, and previews.
"""
