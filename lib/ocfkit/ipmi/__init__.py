"""A small IPMI-over-LAN client: just what power fencing needs, fast and robust on the wire.

- ``link``: one UDP socket to the BMC with retransmission (adaptive timeout, backoff,
  a hard deadline), tolerant of lost, late, duplicated and foreign datagrams.
- ``lanplus``: IPMI v2.0 RMCP+ sessions (RAKP-HMAC-SHA1/SHA256, HMAC integrity,
  AES-CBC-128: cipher suites 1, 2, 3, 15, 16, 17) and the chassis commands.
- ``errors``: one exception class per failure a user must tell apart (wrong password,
  unknown user, insufficient privilege, nothing listening, no answer, session limit,
  command refused), each with a one-line message that never contains a secret.

Why not python-ipmi for lanplus: importing it costs ~70 ms (its package imports every
interface and message module), more than the whole budget of a status call
(fence_ipmilan: ~70-100 ms). python-ipmi is still used for IPMI v1.5 (``lanplus=0``),
where its protocol coverage matters more than start-up time.
"""

#: Cipher suites we speak (IPMI v2.0 table 22-20). 0 (no authentication) is refused on
#: purpose; 6-14 (MD5 based) are not implemented. Here, not in lanplus, so that
#: validate-all can check the option without importing hashlib and friends.
CIPHER_SUITE_IDS = (1, 2, 3, 15, 16, 17)
