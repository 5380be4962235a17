"""Salesforce: Sales Cloud and Marketing Cloud clients, CRM pull, and delivery."""
