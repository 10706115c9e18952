"""An inventory service in Python with nothing but the standard library: a Gameday example.

It answers the same NATS request-reply contract as the reference `inventory` service
(`inventory.get`, protobuf `gameday.v1.GetInventoryRequest` → `GetInventoryResponse`, queue
group `q`), speaks the NATS services protocol enough to be found and counted (`$SRV.PING`,
`$SRV.INFO`), and drains on SIGTERM: it stops taking requests, answers those it holds, then exits.
"""
