/* SRTP protect (AEAD AES-GCM, RFC 7714) and send, in one call per forwarded packet.
 *
 * The Python fan-out (media/srtp.py: GcmProtector, then socket.sendto) spends most of its
 * user-space time per packet on call overhead around the cipher. This module keeps one
 * OpenSSL cipher context per subscribe leg with the session key already expanded, and per
 * packet sets the IV, encrypts straight into the bytes object it returns, and sends it.
 * The key derivation stays in Python (media/srtp.py); the output is checked byte for byte
 * against it and against libsrtp (tests/test_srtp.py).
 */
#include "_srtp_native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

static void close_socket(GcmSender *self) {
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
}

static void GcmSender_dealloc(GcmSender *self) {
    close_socket(self);
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
    close_socket(self);
    /* Our own descriptor for the socket: the number can never be reused under us for another
     * file, however late a send comes after the leg's own socket is closed. */
    if (fd >= 0 && (self->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        PyErr_SetFromErrno(PyExc_ValueError);
        goto done;
    }
    result = 0;
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&salt);
    return result;
}

PyObject *gcm_protect(GcmSender *self, const unsigned char *header, Py_ssize_t header_length,
                      const unsigned char *payload, Py_ssize_t payload_length, uint32_t ssrc,
                      uint64_t index) {
    if (self->ctx == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the sender was not initialised");
        return NULL;
    }
    if (header_length > MAX_PACKET || payload_length > MAX_PACKET ||
        header_length + payload_length > MAX_PACKET) {
        PyErr_SetString(PyExc_ValueError, "the packet is too large");
        return NULL;
    }
    Py_ssize_t size = header_length + payload_length + TAG_LENGTH;
    /* IV = (0 0 || ssrc || index) ^ salt (RFC 7714 §8.1) */
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
    memcpy(out, header, (size_t)header_length);
    int written = 0;
    if (EVP_EncryptInit_ex(self->ctx, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(self->ctx, NULL, &written, header, (int)header_length) != 1 ||
        EVP_EncryptUpdate(self->ctx, out + header_length, &written, payload,
                          (int)payload_length) != 1 ||
        EVP_EncryptFinal_ex(self->ctx, out + header_length + written, &written) != 1 ||
        EVP_CIPHER_CTX_ctrl(self->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH,
                            out + header_length + payload_length) != 1) {
        Py_DECREF(packet);
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL failed to encrypt");
        return NULL;
    }
    return packet;
}

/* A full socket buffer drops the packet (real-time media: a NACK brings it back). */
int gcm_transmit(GcmSender *self, const char *data, Py_ssize_t size) {
    if (self->fd < 0) {
        PyErr_SetString(PyExc_ConnectionError, "the sender is closed");
        return -1;
    }
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
    PyObject *packet = gcm_protect(self, header.buf, header.len, payload.buf, payload.len,
                                   (uint32_t)ssrc, (uint64_t)index);
    PyBuffer_Release(&header);
    PyBuffer_Release(&payload);
    return packet;
}

static PyObject *GcmSender_send(GcmSender *self, PyObject *args) {
    PyObject *packet = GcmSender_protect(self, args);
    if (packet == NULL) {
        return NULL;
    }
    if (gcm_transmit(self, PyBytes_AS_STRING(packet), PyBytes_GET_SIZE(packet)) < 0) {
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
    int failed = gcm_transmit(self, packet.buf, packet.len);
    PyBuffer_Release(&packet);
    if (failed) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *GcmSender_close(GcmSender *self, PyObject *Py_UNUSED(ignored)) {
    close_socket(self);
    Py_RETURN_NONE;
}

static PyObject *GcmSender_closed(GcmSender *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->fd < 0);
}

static PyGetSetDef GcmSender_getset[] = {
    {"closed", (getter)GcmSender_closed, NULL, "whether it sends no more", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *GcmSender_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    GcmSender *self = (GcmSender *)PyType_GenericNew(type, args, kwargs);
    if (self != NULL) {
        self->fd = -1;
    }
    return (PyObject *)self;
}

static PyMethodDef GcmSender_methods[] = {
    {"protect", (PyCFunction)GcmSender_protect, METH_VARARGS,
     "protect(header, payload, ssrc, index) -> the SRTP packet"},
    {"send", (PyCFunction)GcmSender_send, METH_VARARGS,
     "send(header, payload, ssrc, index) -> protect, send, and return the SRTP packet"},
    {"resend", (PyCFunction)GcmSender_resend, METH_VARARGS,
     "resend(packet): send a protected packet again, as it is"},
    {"close", (PyCFunction)GcmSender_close, METH_NOARGS,
     "close(): send no more, and let go of the socket (idempotent)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject GcmSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "media._srtp_native.GcmSender",
    .tp_doc = "AES-GCM SRTP protect and send on one socket, to one address.",
    .tp_basicsize = sizeof(GcmSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = GcmSender_new,
    .tp_init = (initproc)GcmSender_init,
    .tp_dealloc = (destructor)GcmSender_dealloc,
    .tp_methods = GcmSender_methods,
    .tp_getset = GcmSender_getset,
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
    if (fanout_register(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
