/* SRTP protect (AEAD AES-GCM, RFC 7714) and send, in one call per forwarded packet.
 *
 * The Python fan-out (media/srtp.py: GcmProtector, then socket.sendto) spends most of its
 * user-space time per packet on call overhead around the cipher. This module keeps one
 * OpenSSL cipher context per subscribe leg with the session key already expanded, and per
 * packet sets the IV, encrypts straight into the bytes object it returns, and sends it.
 * The key derivation stays in Python (media/srtp.py); the output is checked byte for byte
 * against it and against libsrtp (tests/test_srtp.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/socket.h>

#define SALT_LENGTH 12
#define TAG_LENGTH 16
#define MAX_PACKET 1500

typedef struct {
    PyObject_HEAD
    EVP_CIPHER_CTX *ctx;
    unsigned char salt[SALT_LENGTH];
    int fd;
    struct sockaddr_storage address;
    socklen_t address_length;
} GcmSender;

static void GcmSender_dealloc(GcmSender *self) {
    if (self->ctx != NULL) {
        EVP_CIPHER_CTX_free(self->ctx);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int set_address(GcmSender *self, const char *host, int port) {
    memset(&self->address, 0, sizeof(self->address));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&self->address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&self->address;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "a port is between 0 and 65535");
        return -1;
    }
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        self->address_length = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        self->address_length = sizeof(*v6);
        return 0;
    }
    PyErr_SetString(PyExc_ValueError, "the address is not a numeric IPv4 or IPv6 address");
    return -1;
}

static int GcmSender_init(GcmSender *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"session_key", "session_salt", "fd", "host", "port", NULL};
    Py_buffer key, salt;
    const char *host;
    int fd, port;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*isi", keywords, &key, &salt, &fd, &host,
                                     &port)) {
        return -1;
    }
    int result = -1;
    const EVP_CIPHER *cipher = NULL;
    if (key.len == 16) {
        cipher = EVP_aes_128_gcm();
    } else if (key.len == 32) {
        cipher = EVP_aes_256_gcm();
    } else {
        PyErr_SetString(PyExc_ValueError, "an AES-GCM session key is 16 or 32 bytes");
        goto done;
    }
    if (salt.len != SALT_LENGTH) {
        PyErr_SetString(PyExc_ValueError, "an AES-GCM session salt is 12 bytes");
        goto done;
    }
    if (set_address(self, host, port) < 0) {
        goto done;
    }
    if (self->ctx == NULL && (self->ctx = EVP_CIPHER_CTX_new()) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (EVP_EncryptInit_ex(self->ctx, cipher, NULL, key.buf, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(self->ctx, EVP_CTRL_GCM_SET_IVLEN, SALT_LENGTH, NULL) != 1) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL refused the AES-GCM key");
        goto done;
    }
    memcpy(self->salt, salt.buf, SALT_LENGTH);
    self->fd = fd;
    result = 0;
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&salt);
    return result;
}

/* header || AES-GCM(payload, aad = header) || tag, under IV = (0 || ssrc || index) ^ salt. */
static PyObject *protect(GcmSender *self, Py_buffer *header, Py_buffer *payload,
                         unsigned long long ssrc, unsigned long long index) {
    if (self->ctx == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the sender was not initialised");
        return NULL;
    }
    Py_ssize_t size = header->len + payload->len + TAG_LENGTH;
    if (size > MAX_PACKET + TAG_LENGTH || header->len > INT_MAX || payload->len > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "the packet is too large");
        return NULL;
    }
    unsigned char iv[SALT_LENGTH] = {0};
    iv[2] = (unsigned char)(ssrc >> 24);
    iv[3] = (unsigned char)(ssrc >> 16);
    iv[4] = (unsigned char)(ssrc >> 8);
    iv[5] = (unsigned char)ssrc;
    for (int i = 0; i < 6; i++) {
        iv[6 + i] = (unsigned char)(index >> (8 * (5 - i)));
    }
    for (int i = 0; i < SALT_LENGTH; i++) {
        iv[i] ^= self->salt[i];
    }
    PyObject *packet = PyBytes_FromStringAndSize(NULL, size);
    if (packet == NULL) {
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(packet);
    memcpy(out, header->buf, header->len);
    int written = 0;
    if (EVP_EncryptInit_ex(self->ctx, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(self->ctx, NULL, &written, header->buf, (int)header->len) != 1 ||
        EVP_EncryptUpdate(self->ctx, out + header->len, &written, payload->buf,
                          (int)payload->len) != 1 ||
        EVP_EncryptFinal_ex(self->ctx, out + header->len + written, &written) != 1 ||
        EVP_CIPHER_CTX_ctrl(self->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH,
                            out + header->len + payload->len) != 1) {
        Py_DECREF(packet);
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL failed to encrypt");
        return NULL;
    }
    return packet;
}

/* Send, dropping the packet if the socket buffer is full (real-time media: NACK brings it
 * back); any other failure is a ConnectionError. */
static int transmit(GcmSender *self, const char *data, Py_ssize_t size) {
    ssize_t sent = sendto(self->fd, data, (size_t)size, MSG_DONTWAIT,
                          (struct sockaddr *)&self->address, self->address_length);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
        errno != ENOBUFS) {
        PyErr_SetFromErrno(PyExc_ConnectionError);
        return -1;
    }
    return 0;
}

static PyObject *GcmSender_protect(GcmSender *self, PyObject *args) {
    Py_buffer header, payload;
    unsigned long long ssrc, index;
    if (!PyArg_ParseTuple(args, "y*y*KK", &header, &payload, &ssrc, &index)) {
        return NULL;
    }
    PyObject *packet = protect(self, &header, &payload, ssrc, index);
    PyBuffer_Release(&header);
    PyBuffer_Release(&payload);
    return packet;
}

static PyObject *GcmSender_send(GcmSender *self, PyObject *args) {
    PyObject *packet = GcmSender_protect(self, args);
    if (packet == NULL) {
        return NULL;
    }
    if (transmit(self, PyBytes_AS_STRING(packet), PyBytes_GET_SIZE(packet)) < 0) {
        Py_DECREF(packet);
        return NULL;
    }
    return packet;
}

static PyObject *GcmSender_resend(GcmSender *self, PyObject *args) {
    Py_buffer packet;
    if (!PyArg_ParseTuple(args, "y*", &packet)) {
        return NULL;
    }
    int failed = transmit(self, packet.buf, packet.len);
    PyBuffer_Release(&packet);
    if (failed) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef GcmSender_methods[] = {
    {"protect", (PyCFunction)GcmSender_protect, METH_VARARGS,
     "protect(header, payload, ssrc, index) -> the SRTP packet"},
    {"send", (PyCFunction)GcmSender_send, METH_VARARGS,
     "send(header, payload, ssrc, index) -> protect, send, and return the SRTP packet"},
    {"resend", (PyCFunction)GcmSender_resend, METH_VARARGS,
     "resend(packet): send a protected packet again, as it is"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject GcmSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "media._srtp_native.GcmSender",
    .tp_doc = "AES-GCM SRTP protect and send on one socket, to one address.",
    .tp_basicsize = sizeof(GcmSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)GcmSender_init,
    .tp_dealloc = (destructor)GcmSender_dealloc,
    .tp_methods = GcmSender_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "media._srtp_native",
    .m_doc = "AES-GCM SRTP protect and send for the forwarding path (optional; media/srtp.py).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__srtp_native(void) {
    if (PyType_Ready(&GcmSenderType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&GcmSenderType);
    if (PyModule_AddObject(m, "GcmSender", (PyObject *)&GcmSenderType) < 0) {
        Py_DECREF(&GcmSenderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
