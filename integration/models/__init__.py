from integration.models.alerts import AlertCondition, AlertState
from integration.models.analytics import SupportAnalytics
from integration.models.automation import (
    ConditionField,
    FieldMapping,
    MappedValue,
    MatchMode,
    Operator,
    PriorityRule,
    ProfileValue,
    RuleCondition,
    ShopSettings,
    SideEffect,
    SideEffectState,
    TicketRecord,
    WidgetField,
)
from integration.models.connections import (
    ConnectionStatus,
    HelpDeskEddyConnection,
    RetailCrmConnection,
)
from integration.models.customers import CustomerLink
from integration.models.events import (
    AttemptOutcome,
    EventAttempt,
    EventSource,
    EventState,
    EventType,
    InboundEvent,
)
from integration.models.extension import ExtensionToken
from integration.models.logs import ApiCall, CallOutcome, Provider, WidgetRequest
from integration.models.orders import LocalOrder, OrderWatch, ProductName
from integration.models.ratelimit import RateLimitState
from integration.models.replies import ReplyKind, ReplyTemplate, SentReply
from integration.models.secrets import AuthFailure, SecretKind, ShopSecret
from integration.models.tenancy import Agency, Invitation, Language, Membership, Role, Shop
from integration.models.vendor_facts import (
    FactSource,
    ProbeOutcome,
    ProbeReport,
    VendorFact,
)
from integration.models.widget import ScopeReason, WidgetNonce, WidgetScope

__all__ = [
    "SupportAnalytics",
    "AlertCondition",
    "AlertState",
    "ConditionField",
    "FieldMapping",
    "MappedValue",
    "MatchMode",
    "Operator",
    "PriorityRule",
    "ProfileValue",
    "RuleCondition",
    "ShopSettings",
    "SideEffect",
    "SideEffectState",
    "TicketRecord",
    "WidgetField",
    "WidgetRequest",
    "Agency",
    "AuthFailure",
    "ApiCall",
    "ConnectionStatus",
    "CustomerLink",
    "EventSource",
    "FactSource",
    "ExtensionToken",
    "EventState",
    "EventType",
    "CallOutcome",
    "HelpDeskEddyConnection",
    "InboundEvent",
    "EventAttempt",
    "AttemptOutcome",
    "Invitation",
    "Language",
    "LocalOrder",
    "ProductName",
    "OrderWatch",
    "Membership",
    "Provider",
    "RateLimitState",
    "ReplyKind",
    "ReplyTemplate",
    "SentReply",
    "RetailCrmConnection",
    "Role",
    "SecretKind",
    "Shop",
    "ShopSecret",
    "ScopeReason",
    "ProbeOutcome",
    "ProbeReport",
    "VendorFact",
    "WidgetNonce",
    "WidgetScope",
]
