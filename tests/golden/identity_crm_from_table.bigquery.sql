CREATE OR REPLACE TABLE `demo-project`.cdp.crm_customers AS
SELECT
  CAST(`Id` AS STRING) AS `record_id`,
  CAST(`Type` AS STRING) AS `record_type`,
  CAST(`Member_Id__c` AS STRING) AS `uid`,
  CAST(`email` AS STRING) AS `email`,
  CAST(`opted_out` AS BOOL) AS `opted_out`,
  CAST(`customer_type` AS STRING) AS `customer_type`,
  CAST(NULL AS TIMESTAMP) AS `system_modstamp`,
  `segment` AS `segment`
FROM crm_src.contacts
