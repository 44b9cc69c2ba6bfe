"""Messaging on aio-pika: topology, confirmed publishing, consumers with retry tiers and error queues."""

from clinic_shared.messaging.broker import Broker
from clinic_shared.messaging.consumer import Consumer, ConsumerRunner, HandlerContext, PermanentFailure
from clinic_shared.messaging.topology import QueueNames, Topology

__all__ = ["Broker", "Consumer", "ConsumerRunner", "HandlerContext", "PermanentFailure", "QueueNames", "Topology"]
