-- TLS: peer and host verification are always on; ca_file (superuser only)
-- trusts a private CA.  The stand-in serves https with a test CA here.
\getenv tlsport LDAI_STANDIN_TLS_PORT
\getenv ldkey LDAI_TEST_API_KEY
\getenv cafile LDAI_TEST_CA
SELECT format('https://localhost:%s', :'tlsport') AS tls_url \gset
SELECT format('https://127.0.0.1:%s', :'tlsport') AS tls_ip_url \gset
CREATE SERVER tls FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'tls_url', project_key 'default', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER tls OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE tls_configs (key text) SERVER tls OPTIONS (resource 'ai_configs');
-- the test CA is not trusted by default
\set VERBOSITY terse
SELECT count(*) FROM tls_configs;
\set VERBOSITY default
SELECT sqlstate_of('SELECT count(*) FROM tls_configs');
-- with ca_file it is
ALTER SERVER tls OPTIONS (ADD ca_file :'cafile');
SELECT count(*) FROM tls_configs;
-- the host name must match the certificate (it names localhost, not 127.0.0.1)
ALTER SERVER tls OPTIONS (SET base_url :'tls_ip_url');
\set VERBOSITY terse
SELECT count(*) FROM tls_configs;
\set VERBOSITY default
-- ca_file: superuser only, an absolute readable path
ALTER SERVER tls OPTIONS (SET ca_file 'relative.pem');
ALTER SERVER tls OPTIONS (SET ca_file '/nonexistent/ca.pem');
CREATE ROLE ldai_tls_user;
GRANT USAGE ON FOREIGN DATA WRAPPER ldai_fdw TO ldai_tls_user;
SET ROLE ldai_tls_user;
CREATE SERVER tls2 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (ca_file '/etc/ssl/certs/ca-certificates.crt');
RESET ROLE;
REVOKE USAGE ON FOREIGN DATA WRAPPER ldai_fdw FROM ldai_tls_user;
DROP ROLE ldai_tls_user;
DROP SERVER tls CASCADE;
