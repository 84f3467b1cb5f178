"""Request and response types of the broker's request layer, one module per family of APIs,
named and shaped as Kafka's message schemas (``clients/src/main/resources/common/message``)."""
