"""Kafka's command-line tools: ``kafka-topics``, ``kafka-configs``, ``kafka-consumer-groups``,
``kafka-console-producer`` and ``kafka-console-consumer``, with Kafka's options, messages and
output formats.

One implementation serves twice: as console scripts (``[project.scripts]``) driving the real
``kafka`` package, so they speak Kafka's wire protocol to any broker (``kafkalab serve`` or a
real cluster), and as IPython magics (:mod:`kafkalab.tools.magics`, ``%load_ext kafkalab``)
driving kafkalab's clients against the in-kernel cluster. Each tool module has
``main(argv, client=None, out=None, err=None) -> exit code``; :mod:`.options` reads arguments
the way Kafka's jopt-simple parser does, :mod:`.common` holds what the tools share.
"""
