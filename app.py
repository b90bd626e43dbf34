"""Pregón's Chalice app: registers the blueprints and middleware. No logic lives here."""

from chalice import Chalice

from chalicelib.api.authorizer import auth
from chalicelib.api.auto_replies import auto_replies
from chalicelib.api.branding import IMAGE_ACCEPTS, branding
from chalicelib.api.business_events import business_events
from chalicelib.api.clients import clients
from chalicelib.api.configuration import configuration
from chalicelib.api.console import console
from chalicelib.api.documents import documents
from chalicelib.api.domains import domains
from chalicelib.api.history import history
from chalicelib.api.http import map_errors
from chalicelib.api.inbound import inbound
from chalicelib.api.mailboxes import mailboxes
from chalicelib.api.manual_unsubscribe import manual_unsubscribe
from chalicelib.api.notes import notes
from chalicelib.api.operators import operators
from chalicelib.api.parcels import parcels
from chalicelib.api.portal import portal
from chalicelib.api.public import public
from chalicelib.api.push import push
from chalicelib.api.register import register
from chalicelib.api.reminders import reminders
from chalicelib.api.sender_tests import sender_tests
from chalicelib.api.sends import sends
from chalicelib.api.sms import sms
from chalicelib.api.staff import staff
from chalicelib.api.suppressions import suppressions
from chalicelib.api.templates import templates
from chalicelib.api.tickets import tickets
from chalicelib.api.tracking_page import tracking_page
from chalicelib.api.webhooks import webhooks
from chalicelib.core.observability import observe
from chalicelib.events.agent_changes import agent_change_events
from chalicelib.events.history_exports import history_export_events
from chalicelib.events.inbound_mail import inbound_mail_events
from chalicelib.events.inbound_sms import inbound_sms_events
from chalicelib.events.mailboxes import mailbox_events
from chalicelib.events.outbox import outbox_events
from chalicelib.events.schedules import schedules
from chalicelib.events.send_jobs import send_job_events
from chalicelib.events.ses_events import ses_events
from chalicelib.events.webhooks import webhook_events
from chalicelib.records.exports import XLSX_TYPE

app = Chalice(app_name="pregon", configure_logs=False)
app.api.binary_types.extend([XLSX_TYPE, "image/png", *IMAGE_ACCEPTS])
app.register_middleware(observe, "all")
app.register_middleware(map_errors, "http")
app.register_blueprint(auth)
app.register_blueprint(public)
app.register_blueprint(tracking_page)
app.register_blueprint(manual_unsubscribe)
app.register_blueprint(parcels)
app.register_blueprint(configuration)
app.register_blueprint(branding)
app.register_blueprint(clients)
app.register_blueprint(templates)
app.register_blueprint(schedules)
app.register_blueprint(outbox_events)
app.register_blueprint(sender_tests)
app.register_blueprint(sms)
app.register_blueprint(business_events)
app.register_blueprint(ses_events)
app.register_blueprint(suppressions)
app.register_blueprint(auto_replies)
app.register_blueprint(inbound_sms_events)
app.register_blueprint(inbound_mail_events)
app.register_blueprint(inbound)
app.register_blueprint(push)
app.register_blueprint(sends)
app.register_blueprint(send_job_events)
app.register_blueprint(history)
app.register_blueprint(history_export_events)
app.register_blueprint(register)
app.register_blueprint(portal)
app.register_blueprint(notes)
app.register_blueprint(staff)
app.register_blueprint(agent_change_events)
app.register_blueprint(mailboxes)
app.register_blueprint(mailbox_events)
app.register_blueprint(reminders)
app.register_blueprint(documents)
app.register_blueprint(operators)
app.register_blueprint(domains)
app.register_blueprint(console)
app.register_blueprint(tickets)
app.register_blueprint(webhooks)
app.register_blueprint(webhook_events)
