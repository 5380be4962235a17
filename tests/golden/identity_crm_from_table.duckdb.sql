CREATE OR REPLACE TABLE crm_customers AS
SELECT
  CAST("Id" AS TEXT) AS "record_id",
  CAST("Type" AS TEXT) AS "record_type",
  CAST("Member_Id__c" AS TEXT) AS "uid",
  CAST("email" AS TEXT) AS "email",
  CAST("opted_out" AS BOOLEAN) AS "opted_out",
  CAST("customer_type" AS TEXT) AS "customer_type",
  CAST(NULL AS TIMESTAMPTZ) AS "system_modstamp",
  "segment" AS "segment"
FROM crm_src.contacts
