-- Development only (docker-compose.yml mounts it into /docker-entrypoint-initdb.d; it runs once, on
-- an empty data volume). One login role per service owning that service's database, and no CONNECT
-- for anyone else: no service can read another's data, as DESIGN section 3 requires. The passwords
-- are development values and match docker-compose.yml.

CREATE ROLE booking LOGIN PASSWORD 'booking-dev';
CREATE DATABASE booking OWNER booking;
REVOKE ALL ON DATABASE booking FROM PUBLIC;

CREATE ROLE inventory LOGIN PASSWORD 'inventory-dev';
CREATE DATABASE inventory OWNER inventory;
REVOKE ALL ON DATABASE inventory FROM PUBLIC;

CREATE ROLE notifications LOGIN PASSWORD 'notifications-dev';
CREATE DATABASE notifications OWNER notifications;
REVOKE ALL ON DATABASE notifications FROM PUBLIC;

-- The pages keep only their sessions here; they reach the other services' data through their APIs.
CREATE ROLE web LOGIN PASSWORD 'web-dev';
CREATE DATABASE web OWNER web;
REVOKE ALL ON DATABASE web FROM PUBLIC;
