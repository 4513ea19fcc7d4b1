"""Reminders: unpaid invoices at 09:00 team-local (team digests and opt-in customer e-mails), and
recurring invoices issued once per period with a notice the day before."""
