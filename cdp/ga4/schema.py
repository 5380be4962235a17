"""The GA4 BigQuery export schema (`events_*`, `events_intraday_*`) as an Arrow schema.

Source: GA4 export schema, https://support.google.com/analytics/answer/7029846, as summarised in
shared/reference/ga4-and-salesforce-facts.md §1.4. STRING -> string, INTEGER -> int64,
FLOAT -> float64, BOOLEAN -> bool, RECORD -> struct, REPEATED RECORD -> list<struct>.
Every top-level column is NULLABLE. The Arrow schema is the single source: DuckDB tables and
BigQuery schema fields are derived from it.
"""

from __future__ import annotations

import pyarrow as pa

S = pa.string()
I = pa.int64()  # noqa: E741 - mirrors BigQuery's INTEGER
F = pa.float64()
B = pa.bool_()


def _struct(**fields: pa.DataType) -> pa.StructType:
    return pa.struct([pa.field(name, typ) for name, typ in fields.items()])


PARAM_VALUE = _struct(string_value=S, int_value=I, float_value=F, double_value=F)
EVENT_PARAM = _struct(key=S, value=PARAM_VALUE)
USER_PROPERTY = _struct(
    key=S,
    value=_struct(
        string_value=S, int_value=I, float_value=F, double_value=F, set_timestamp_micros=I
    ),
)
_CAMPAIGN = _struct(campaign_id=S, campaign_name=S, source=S, medium=S, term=S, content=S,
                    source_platform=S, creative_format=S, marketing_tactic=S)  # fmt: skip
_ADS_CAMPAIGN = _struct(customer_id=S, account_name=S, campaign_id=S, campaign_name=S,
                        ad_group_id=S, ad_group_name=S)  # fmt: skip
_NAMED_CAMPAIGN = _struct(campaign_id=S, campaign_name=S, source=S, medium=S)

ITEM = _struct(
    item_id=S, item_name=S, item_brand=S, item_variant=S,
    item_category=S, item_category2=S, item_category3=S, item_category4=S, item_category5=S,
    price_in_usd=F, price=F, quantity=I, item_revenue_in_usd=F, item_revenue=F,
    item_refund_in_usd=F, item_refund=F, coupon=S, affiliation=S, location_id=S,
    item_list_id=S, item_list_name=S, item_list_index=S, promotion_id=S, promotion_name=S,
    creative_name=S, creative_slot=S, item_params=pa.list_(EVENT_PARAM),
)  # fmt: skip

EVENTS_SCHEMA = pa.schema(
    [
        ("event_date", S),
        ("event_timestamp", I),
        ("event_name", S),
        ("event_params", pa.list_(EVENT_PARAM)),
        ("event_previous_timestamp", I),
        ("event_value_in_usd", F),
        ("event_bundle_sequence_id", I),
        ("event_server_timestamp_offset", I),
        ("user_id", S),
        ("user_pseudo_id", S),
        ("privacy_info", _struct(analytics_storage=S, ads_storage=S, uses_transient_token=S)),
        ("user_properties", pa.list_(USER_PROPERTY)),
        ("user_first_touch_timestamp", I),
        ("user_ltv", _struct(revenue=F, currency=S)),
        (
            "device",
            _struct(
                category=S,
                mobile_brand_name=S,
                mobile_model_name=S,
                mobile_marketing_name=S,
                mobile_os_hardware_model=S,
                operating_system=S,
                operating_system_version=S,
                vendor_id=S,
                advertising_id=S,
                language=S,
                is_limited_ad_tracking=S,
                time_zone_offset_seconds=I,
                web_info=_struct(browser=S, browser_version=S, hostname=S),
            ),
        ),
        ("geo", _struct(city=S, country=S, continent=S, region=S, sub_continent=S, metro=S)),
        (
            "app_info",
            _struct(id=S, version=S, install_store=S, firebase_app_id=S, install_source=S),
        ),
        ("traffic_source", _struct(name=S, medium=S, source=S)),
        ("stream_id", S),
        ("platform", S),
        ("event_dimensions", _struct(hostname=S)),
        (
            "ecommerce",
            _struct(
                total_item_quantity=I,
                purchase_revenue_in_usd=F,
                purchase_revenue=F,
                refund_value_in_usd=F,
                refund_value=F,
                shipping_value_in_usd=F,
                shipping_value=F,
                tax_value_in_usd=F,
                tax_value=F,
                unique_items=I,
                transaction_id=S,
            ),
        ),
        ("items", pa.list_(ITEM)),
        (
            "collected_traffic_source",
            _struct(
                manual_campaign_id=S,
                manual_campaign_name=S,
                manual_source=S,
                manual_medium=S,
                manual_term=S,
                manual_content=S,
                manual_source_platform=S,
                manual_creative_format=S,
                manual_marketing_tactic=S,
                gclid=S,
                dclid=S,
                srsltid=S,
            ),
        ),
        ("is_active_user", B),
        ("batch_event_index", I),
        ("batch_page_id", I),
        ("batch_ordering_id", I),
        (
            "session_traffic_source_last_click",
            _struct(
                manual_campaign=_CAMPAIGN,
                google_ads_campaign=_ADS_CAMPAIGN,
                cross_channel_campaign=_struct(
                    campaign_id=S,
                    campaign_name=S,
                    source=S,
                    medium=S,
                    source_platform=S,
                    default_channel_group=S,
                    primary_channel_group=S,
                ),
                sa360_campaign=_NAMED_CAMPAIGN,
                cm360_campaign=_NAMED_CAMPAIGN,
                dv360_campaign=_NAMED_CAMPAIGN,
            ),
        ),
        ("publisher", _struct(ad_revenue_in_usd=F, ad_format=S, ad_source_name=S, ad_unit_id=S)),
    ]
)

# Columns added to the export over time; older extracts lack them and load with NULLs.
LATE_COLUMNS = (
    "batch_event_index",
    "batch_page_id",
    "batch_ordering_id",
    "session_traffic_source_last_click",
    "is_active_user",
    "collected_traffic_source",
    "publisher",
)

DAILY_PREFIX = "events_"
INTRADAY_PREFIX = "events_intraday_"


def shard_kind(table_name: str) -> tuple[str, str] | None:
    """('daily'|'intraday', 'YYYYMMDD') for an export shard name, None for anything else."""
    for kind, prefix in (("intraday", INTRADAY_PREFIX), ("daily", DAILY_PREFIX)):
        suffix = table_name.removeprefix(prefix)
        if table_name.startswith(prefix) and len(suffix) == 8 and suffix.isdigit():
            return kind, suffix
    return None


# `stg_events` columns in the order staging writes them: these, then the configured extra params
# and user properties, then `STAGED_TAIL`.
STAGED_HEAD = (
    "event_key", "event_ts", "event_timestamp", "event_date", "shard_date", "is_provisional",
    "event_name", "cid", "uid", "ga_session_id", "ga_session_number", "page_location",
    "page_title", "page_referrer", "engagement_time_msec", "analytics_storage", "ads_storage",
    "device_category", "country", "city", "platform", "traffic_source", "traffic_medium",
    "traffic_campaign",
)  # fmt: skip
STAGED_TAIL = ("session_key", "page_path")
