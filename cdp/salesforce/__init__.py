"""Salesforce: Sales Cloud and Marketing Cloud clients, CRM pull, and delivery.

Kept import-light (the config module imports `settings` from here): import the clients
from their modules, e.g. `from cdp.salesforce.sales_cloud import SalesCloudClient`.
"""
