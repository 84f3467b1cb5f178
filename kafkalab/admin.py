"""``kafkalab.admin``: the admin client and kafka-python's request value types.

Every name of ``kafka.admin`` is here: kafka-python's own value types (re-exported unchanged, so
``isinstance`` checks agree) and kafkalab's :class:`KafkaAdminClient`.
"""
from kafka.admin import (  # noqa: F401
    ACL,
    AbortTransactionSpec,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    AlterConfigOp,
    ConfigFilterType,
    ConfigResource,
    ConfigResourceType,
    ConfigSourceType,
    ConfigType,
    GroupState,
    GroupType,
    MemberToRemove,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    OffsetTimestamp,
    PartitionProducerState,
    ProducerState,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    TransactionDescription,
    TransactionListing,
    TransactionState,
    UpdateFeatureType,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from .client.admin import KafkaAdminClient  # noqa: E402,F401

__all__ = ["ACL", "ACLFilter", "ACLOperation", "ACLPermissionType", "ACLResourcePatternType",
           "AbortTransactionSpec", "AlterConfigOp", "ConfigFilterType", "ConfigResource",
           "ConfigResourceType", "ConfigSourceType", "ConfigType", "GroupState", "GroupType",
           "KafkaAdminClient", "MemberToRemove", "NewPartitions", "NewTopic", "OffsetSpec",
           "OffsetTimestamp", "PartitionProducerState", "ProducerState", "ResourcePattern",
           "ResourcePatternFilter", "ResourceType", "ScramMechanism", "TransactionDescription",
           "TransactionListing", "TransactionState", "UpdateFeatureType",
           "UserScramCredentialDeletion", "UserScramCredentialUpsertion"]
