/* The per-sink work of the forwarding path, in C: one call per incoming packet forwards it
 * to every sink whose subscribe leg has the C sender.
 *
 * A SinkCore is one subscriber's copy of one published track once its leg is up: the
 * sequence-number and timestamp offsets, the highest packet index sent (the AES-GCM nonce
 * is never used twice), the cache of protected packets that answers NACKs, and the counters
 * the sender reports need. It is the same state and the same rules as media/forwarder.py's
 * TrackSink.forward, which takes it over from Python (and back, if the sink is
 * reconfigured); tests/test_fanout.py checks the two byte for byte.
 */
#include "_srtp_native.h"

#include <string.h>
#include <structmember.h>

#define NACK_CACHE 512 /* media/forwarder.py NACK_CACHE */
#define RTP_HEADER_LENGTH 12
#define MAX_EXTENSION_BLOCK 16

typedef struct {
    PyObject_HEAD
    GcmSender *sender;
    uint32_t ssrc;
    int payload_type;
    int abs_send_time_id; /* 0: not negotiated */
    int audio_level_id;   /* 0: not negotiated */
    uint32_t seq_offset;
    uint32_t ts_offset;
    long long highest; /* the highest packet index sent; -1 before the first */
    PyObject *history[NACK_CACHE];
    unsigned long long packets_sent;
    unsigned long long packets_refused;
    unsigned long long octets_sent;
    uint32_t last_timestamp;
    double last_sent_at;
    unsigned long long packets_withheld; /* not sent: the sink was not permitted */
    char retired;
    char permitted; /* the court's allow-set: 0 (the default) forwards and resends nothing */
} SinkCore;

static void SinkCore_dealloc(SinkCore *self) {
    for (int i = 0; i < NACK_CACHE; i++) {
        Py_CLEAR(self->history[i]);
    }
    Py_CLEAR(self->sender);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int valid_extension_id(int id) { return id >= 0 && id <= 14; }

static int SinkCore_init(SinkCore *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"sender",         "ssrc",          "payload_type",
                               "abs_send_time_id", "audio_level_id", "seq_offset",
                               "ts_offset",      "highest",       "history",
                               "packets_sent",   "packets_refused", "octets_sent",
                               "last_timestamp", "last_sent_at",  NULL};
    PyObject *sender, *history;
    unsigned long ssrc, seq_offset, ts_offset, last_timestamp;
    int payload_type, abs_send_time_id, audio_level_id;
    long long highest;
    unsigned long long packets_sent, packets_refused, octets_sent;
    double last_sent_at;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "O!kiiikkLO!KKKkd", keywords, &GcmSenderType, &sender, &ssrc,
            &payload_type, &abs_send_time_id, &audio_level_id, &seq_offset, &ts_offset,
            &highest, &PyList_Type, &history, &packets_sent, &packets_refused, &octets_sent,
            &last_timestamp, &last_sent_at)) {
        return -1;
    }
    if (ssrc > 0xFFFFFFFFUL || ts_offset > 0xFFFFFFFFUL || last_timestamp > 0xFFFFFFFFUL ||
        seq_offset > 0xFFFF || payload_type < 0 || payload_type > 127 ||
        !valid_extension_id(abs_send_time_id) || !valid_extension_id(audio_level_id) ||
        highest < -1 || highest >= (1LL << 48)) {
        PyErr_SetString(PyExc_ValueError, "a sink field is out of its range");
        return -1;
    }
    if (PyList_GET_SIZE(history) != NACK_CACHE) {
        PyErr_Format(PyExc_ValueError, "the history holds %d packets", NACK_CACHE);
        return -1;
    }
    for (int i = 0; i < NACK_CACHE; i++) {
        PyObject *item = PyList_GET_ITEM(history, i);
        if (item != Py_None && !PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "the history holds bytes or None");
            return -1;
        }
    }
    for (int i = 0; i < NACK_CACHE; i++) {
        PyObject *item = PyList_GET_ITEM(history, i);
        Py_CLEAR(self->history[i]);
        if (item != Py_None) {
            Py_INCREF(item);
            self->history[i] = item;
        }
    }
    Py_INCREF(sender);
    Py_XSETREF(self->sender, (GcmSender *)sender);
    self->ssrc = (uint32_t)ssrc;
    self->payload_type = payload_type;
    self->abs_send_time_id = abs_send_time_id;
    self->audio_level_id = audio_level_id;
    self->seq_offset = (uint32_t)seq_offset;
    self->ts_offset = (uint32_t)ts_offset;
    self->highest = highest;
    self->packets_sent = packets_sent;
    self->packets_refused = packets_refused;
    self->octets_sent = octets_sent;
    self->last_timestamp = (uint32_t)last_timestamp;
    self->last_sent_at = last_sent_at;
    self->retired = 0;
    self->permitted = 0; /* fail closed: Python permits the sink once it is handed over */
    return 0;
}

static uint16_t sequence_of(PyObject *packet) {
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(packet);
    return (uint16_t)(data[2] << 8 | data[3]);
}

/* Whether a packet numbered `seq` is in the cache (sent under its index). */
static int was_sent(SinkCore *self, uint32_t seq) {
    PyObject *packet = self->history[seq % NACK_CACHE];
    return packet != NULL && PyBytes_GET_SIZE(packet) >= 4 && sequence_of(packet) == seq;
}

/* RFC 3711 §3.3.1's index estimate (media/srtp.py next_index). */
static long long next_index(long long highest, uint32_t seq) {
    if (highest < 0) {
        return seq;
    }
    long long roc = highest >> 16;
    long long last = highest & 0xFFFF;
    if (last < 0x8000) {
        if ((long long)seq - last > 0x8000 && roc > 0) {
            roc -= 1;
        }
    } else if (last - 0x8000 > (long long)seq) {
        roc += 1;
    }
    return roc << 16 | seq;
}

/* The RTP header with its one-byte-header extension block (RFC 8285 §4.2), as
 * media/rtp.py build_extension_block makes it; returns its length. */
static Py_ssize_t build_header(SinkCore *self, unsigned char *out, int marker, uint32_t seq,
                               uint32_t timestamp, const unsigned char *abs_send_time,
                               const unsigned char *audio_level) {
    unsigned char body[MAX_EXTENSION_BLOCK];
    Py_ssize_t length = 0;
    if (self->abs_send_time_id != 0 && abs_send_time != NULL) {
        body[length++] = (unsigned char)(self->abs_send_time_id << 4 | 2);
        memcpy(body + length, abs_send_time, 3);
        length += 3;
    }
    if (self->audio_level_id != 0 && audio_level != NULL) {
        body[length++] = (unsigned char)(self->audio_level_id << 4);
        body[length++] = audio_level[0];
    }
    while (length % 4 != 0) {
        body[length++] = 0;
    }
    out[0] = length ? 0x90 : 0x80;
    out[1] = (unsigned char)((marker ? 0x80 : 0) | self->payload_type);
    out[2] = (unsigned char)(seq >> 8);
    out[3] = (unsigned char)seq;
    out[4] = (unsigned char)(timestamp >> 24);
    out[5] = (unsigned char)(timestamp >> 16);
    out[6] = (unsigned char)(timestamp >> 8);
    out[7] = (unsigned char)timestamp;
    out[8] = (unsigned char)(self->ssrc >> 24);
    out[9] = (unsigned char)(self->ssrc >> 16);
    out[10] = (unsigned char)(self->ssrc >> 8);
    out[11] = (unsigned char)self->ssrc;
    if (length == 0) {
        return RTP_HEADER_LENGTH;
    }
    out[12] = 0xBE;
    out[13] = 0xDE;
    out[14] = (unsigned char)((length / 4) >> 8);
    out[15] = (unsigned char)(length / 4);
    memcpy(out + 16, body, (size_t)length);
    return 16 + length;
}

/* Forward one packet to one sink: TrackSink.forward's rules. 0 when sent or skipped (a closed
 * leg, a refused late packet, a failed send: the subscriber's transport is going, as a
 * ConnectionError is in Python); -1 with an exception set for anything else. */
static int forward_one(SinkCore *self, uint32_t seq, uint32_t timestamp, int marker,
                       const unsigned char *payload, Py_ssize_t payload_length, double now,
                       const unsigned char *abs_send_time, const unsigned char *audio_level) {
    if (self->retired || self->sender == NULL || self->sender->fd < 0) {
        return 0; /* (no sender: made by __new__ alone, never initialised) */
    }
    if (!self->permitted) {
        self->packets_withheld += 1; /* the court does not allow this pair: checked per packet */
        return 0;
    }
    uint32_t out_seq = (seq + self->seq_offset) & 0xFFFF;
    uint32_t out_ts = timestamp + self->ts_offset;
    long long highest = self->highest;
    long long index;
    if (highest >= 0 && ((out_seq - (uint32_t)highest) & 0xFFFF) == 1) {
        index = self->highest = highest + 1;
    } else {
        index = next_index(highest, out_seq);
        if (index > highest) {
            self->highest = index;
        } else if (highest - index >= NACK_CACHE || was_sent(self, out_seq)) {
            self->packets_refused += 1;
            return 0;
        }
    }
    unsigned char header[RTP_HEADER_LENGTH + 4 + MAX_EXTENSION_BLOCK];
    Py_ssize_t header_length =
        build_header(self, header, marker, out_seq, out_ts, abs_send_time, audio_level);
    PyObject *packet = gcm_protect(self->sender, header, header_length, payload, payload_length,
                                   self->ssrc, (uint64_t)index);
    if (packet == NULL) {
        return -1;
    }
    if (gcm_transmit(self->sender, PyBytes_AS_STRING(packet), PyBytes_GET_SIZE(packet)) < 0) {
        Py_DECREF(packet);
        if (PyErr_ExceptionMatches(PyExc_ConnectionError)) {
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    Py_XSETREF(self->history[out_seq % NACK_CACHE], packet);
    self->packets_sent += 1;
    self->octets_sent += (unsigned long long)payload_length;
    self->last_timestamp = out_ts;
    self->last_sent_at = now;
    return 0;
}

static PyObject *SinkCore_retransmit(SinkCore *self, PyObject *lost) {
    if (self->sender == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the sink was not initialised");
        return NULL;
    }
    if (!self->permitted) {
        return PyLong_FromLong(0); /* a revoked pair gets nothing again, not even a resend */
    }
    PyObject *sequence = PySequence_Fast(lost, "retransmit takes a list of sequence numbers");
    if (sequence == NULL) {
        return NULL;
    }
    long found = 0;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    for (Py_ssize_t i = 0; i < count; i++) {
        long seq = PyLong_AsLong(PySequence_Fast_GET_ITEM(sequence, i));
        if (seq == -1 && PyErr_Occurred()) {
            Py_DECREF(sequence);
            return NULL;
        }
        if (seq < 0 || seq > 0xFFFF || !was_sent(self, (uint32_t)seq)) {
            continue;
        }
        found += 1;
        PyObject *packet = self->history[seq % NACK_CACHE];
        if (gcm_transmit(self->sender, PyBytes_AS_STRING(packet), PyBytes_GET_SIZE(packet)) <
            0) {
            Py_DECREF(sequence);
            return NULL;
        }
    }
    Py_DECREF(sequence);
    return PyLong_FromLong(found);
}

static PyObject *SinkCore_history(SinkCore *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *list = PyList_New(NACK_CACHE);
    if (list == NULL) {
        return NULL;
    }
    for (int i = 0; i < NACK_CACHE; i++) {
        PyObject *item = self->history[i] != NULL ? self->history[i] : Py_None;
        Py_INCREF(item);
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *SinkCore_retire(SinkCore *self, PyObject *Py_UNUSED(ignored)) {
    self->retired = 1;
    Py_RETURN_NONE;
}

static PyMethodDef SinkCore_methods[] = {
    {"retransmit", (PyCFunction)SinkCore_retransmit, METH_O,
     "retransmit(lost) -> how many of these sequence numbers were cached and sent again"},
    {"history", (PyCFunction)SinkCore_history, METH_NOARGS,
     "history() -> the cache of protected packets, by sequence number modulo its size"},
    {"retire", (PyCFunction)SinkCore_retire, METH_NOARGS,
     "retire(): forward nothing more (Python has taken the sink back)"},
    {NULL, NULL, 0, NULL},
};

#define READ_ONLY(name, type) {#name, type, offsetof(SinkCore, name), READONLY, NULL}

static PyMemberDef SinkCore_members[] = {
    READ_ONLY(ssrc, T_UINT),
    READ_ONLY(payload_type, T_INT),
    READ_ONLY(abs_send_time_id, T_INT),
    READ_ONLY(audio_level_id, T_INT),
    READ_ONLY(seq_offset, T_UINT),
    READ_ONLY(ts_offset, T_UINT),
    READ_ONLY(highest, T_LONGLONG),
    READ_ONLY(packets_sent, T_ULONGLONG),
    READ_ONLY(packets_refused, T_ULONGLONG),
    READ_ONLY(octets_sent, T_ULONGLONG),
    READ_ONLY(last_timestamp, T_UINT),
    READ_ONLY(last_sent_at, T_DOUBLE),
    READ_ONLY(retired, T_BOOL),
    READ_ONLY(packets_withheld, T_ULONGLONG),
    {"permitted", T_BOOL, offsetof(SinkCore, permitted), 0,
     "whether the court allows this pair: checked on every packet and every resend"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SinkCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "media._srtp_native.SinkCore",
    .tp_doc = "One sink's numbering, NACK cache and counters, forwarded by fan_out.",
    .tp_basicsize = sizeof(SinkCore),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SinkCore_init,
    .tp_dealloc = (destructor)SinkCore_dealloc,
    .tp_methods = SinkCore_methods,
    .tp_members = SinkCore_members,
};

/* fan_out(cores, seq, timestamp, marker, payload, now, abs_send_time, audio_level) */
static PyObject *fan_out(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "fan_out takes 8 arguments");
        return NULL;
    }
    PyObject *cores = args[0];
    if (!PyTuple_Check(cores) || !PyBytes_Check(args[4]) || !PyBytes_Check(args[6]) ||
        (args[7] != Py_None && !PyBytes_Check(args[7]))) {
        PyErr_SetString(PyExc_TypeError,
                        "fan_out(tuple, int, int, int, bytes, float, bytes, bytes | None)");
        return NULL;
    }
    unsigned long seq = PyLong_AsUnsignedLong(args[1]);
    unsigned long timestamp = PyLong_AsUnsignedLong(args[2]);
    long marker = PyLong_AsLong(args[3]);
    double now = PyFloat_AsDouble(args[5]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (seq > 0xFFFF || timestamp > 0xFFFFFFFFUL || PyBytes_GET_SIZE(args[6]) != 3 ||
        (args[7] != Py_None && PyBytes_GET_SIZE(args[7]) != 1)) {
        PyErr_SetString(PyExc_ValueError, "a packet field is out of its range");
        return NULL;
    }
    const unsigned char *payload = (const unsigned char *)PyBytes_AS_STRING(args[4]);
    Py_ssize_t payload_length = PyBytes_GET_SIZE(args[4]);
    const unsigned char *abs_send_time = (const unsigned char *)PyBytes_AS_STRING(args[6]);
    const unsigned char *audio_level =
        args[7] == Py_None ? NULL : (const unsigned char *)PyBytes_AS_STRING(args[7]);
    Py_ssize_t count = PyTuple_GET_SIZE(cores);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(cores, i), &SinkCoreType)) {
            PyErr_SetString(PyExc_TypeError, "fan_out forwards to SinkCore objects");
            return NULL;
        }
    }
    /* Every sink gets its packet; the first failure (not a closing leg) is raised after. */
    PyObject *type = NULL, *value = NULL, *traceback = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        SinkCore *core = (SinkCore *)PyTuple_GET_ITEM(cores, i);
        if (forward_one(core, (uint32_t)seq, (uint32_t)timestamp, marker != 0, payload,
                        payload_length, now, abs_send_time, audio_level) < 0) {
            if (type == NULL) {
                PyErr_Fetch(&type, &value, &traceback);
            } else {
                PyErr_Clear();
            }
        }
    }
    if (type != NULL) {
        PyErr_Restore(type, value, traceback);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef fanout_functions[] = {
    {"fan_out", (PyCFunction)(void (*)(void))fan_out, METH_FASTCALL,
     "fan_out(cores, seq, timestamp, marker, payload, now, abs_send_time, audio_level): "
     "forward one packet to each SinkCore"},
    {NULL, NULL, 0, NULL},
};

int fanout_register(PyObject *module) {
    if (PyType_Ready(&SinkCoreType) < 0) {
        return -1;
    }
    Py_INCREF(&SinkCoreType);
    if (PyModule_AddObject(module, "SinkCore", (PyObject *)&SinkCoreType) < 0) {
        Py_DECREF(&SinkCoreType);
        return -1;
    }
    return PyModule_AddFunctions(module, fanout_functions);
}
