/* What the two halves of media/_srtp_native share: the per-leg sender (_srtp_native.c) and
 * the per-sink fan-out (_srtp_native_fanout.c). */
#ifndef ECOURT_SRTP_NATIVE_H
#define ECOURT_SRTP_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <openssl/evp.h>
#include <stdint.h>
#include <sys/socket.h>

#define SALT_LENGTH 12
#define TAG_LENGTH 16
#define MAX_PACKET 1500

typedef struct {
    PyObject_HEAD
    EVP_CIPHER_CTX *ctx;
    unsigned char salt[SALT_LENGTH];
    int fd; /* our own duplicate of the leg's socket; -1 once closed */
    struct sockaddr_storage address;
    socklen_t address_length;
} GcmSender;

extern PyTypeObject GcmSenderType;

/* header || AES-GCM(payload, aad = header) || tag, as a new bytes object; NULL with an
 * exception set on failure. */
PyObject *gcm_protect(GcmSender *self, const unsigned char *header, Py_ssize_t header_length,
                      const unsigned char *payload, Py_ssize_t payload_length, uint32_t ssrc,
                      uint64_t index);

/* Send on the leg's socket; 0 when sent or dropped on a full buffer, -1 with ConnectionError
 * set otherwise (also once the sender is closed). */
int gcm_transmit(GcmSender *self, const char *data, Py_ssize_t size);

/* Add SinkCore and fan_out to the module; -1 with an exception set on failure. */
int fanout_register(PyObject *module);

#endif
