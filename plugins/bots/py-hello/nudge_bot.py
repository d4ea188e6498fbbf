"""nudge_bot.py is what any Python bot needs to be run by Nudge's bot host,
written from the proto files alone: go-plugin's handshake, its automatic
mutual TLS, the health and broker services, and a client of the Host
service. bot.py is the bot itself; copy both to start your own.

It needs Debian's python3-grpcio, python3-grpc-tools (to compile the protos
when the bot starts) and python3-cryptography (for the certificate).
"""

import base64
import datetime
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
from grpc_tools import protoc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The handshake Nudge's host expects (plugins/proto/botpb.go).
MAGIC_COOKIE_KEY = "NUDGE_BOT_PLUGIN"
MAGIC_COOKIE_VALUE = "b0ee4a1c-nudge-bot-v1"
APP_PROTOCOL_VERSION = 1

HERE = os.path.dirname(os.path.realpath(__file__))


def log(level, message, **fields):
    """Writes a JSON line in the shape go-plugin reads from a plugin's
    standard error: the host keeps the level, the message and the fields."""
    fields.update({"@level": level, "@message": message})
    sys.stderr.write(json.dumps(fields) + "\n")
    sys.stderr.flush()


def _proto_dir():
    """The protos: a copy in proto/ beside this file (for a bot moved out of
    the repository), else the repository's plugins/proto."""
    for d in (os.path.join(HERE, "proto"), os.path.join(HERE, "..", "..", "proto")):
        if os.path.exists(os.path.join(d, "bot.proto")):
            return d
    raise RuntimeError("cannot find bot.proto")


def _compile():
    """Compiles the protos into a temporary folder, imports them and removes
    the folder (what is imported stays in memory)."""
    src = _proto_dir()
    out = tempfile.mkdtemp(prefix="nudge-proto-")
    try:
        files = ["bot.proto", "goplugin/plugin.proto", "goplugin/health.proto"]
        if protoc.main(["protoc", "-I" + src, "--python_out=" + out, "--grpc_python_out=" + out] + files) != 0:
            raise RuntimeError("cannot compile the protos in " + src)
        sys.path.insert(0, out)
        import bot_pb2, bot_pb2_grpc  # noqa: E401
        from goplugin import health_pb2, health_pb2_grpc, plugin_pb2, plugin_pb2_grpc
        sys.path.remove(out)
        return bot_pb2, bot_pb2_grpc, plugin_pb2, plugin_pb2_grpc, health_pb2, health_pb2_grpc
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _certificate():
    """The bot's certificate for go-plugin's AutoMTLS: the host trusts exactly
    the certificate the bot prints in its handshake."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nudge bot")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                         content_commitment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # go-plugin decodes it with unpadded standard base64.
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode().rstrip("=")
    return cert_pem, key_pem, der


def _watch_host():
    """Exits when the host is gone (the kernel usually ends the bot first;
    this is for when it does not)."""
    want = int(os.environ.get("NUDGE_HOST_PID") or os.getppid())
    while True:
        if os.getppid() != want:
            log("error", "the bot host is gone; exiting")
            os._exit(3)
        time.sleep(1)


class Host:
    """The Host service: host.SendMessage(target={...}, text="hi"), …, each
    call a keyword-argument request and a deadline."""

    def __init__(self, stub, pb):
        self._stub, self._pb = stub, pb

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request=None, **fields):
            if request is None:
                request = _request_for(self._pb, name)(**fields)
            return method(request, timeout=30)

        return call


def _request_for(pb, method):
    """The request message of a Host method, from the service descriptor."""
    m = pb.DESCRIPTOR.services_by_name["Host"].methods_by_name[method]
    return getattr(pb, m.input_type.name)


# The hooks a bot may implement, by the name of their Bot method.
HOOKS = {
    "on_message": ("OnMessage", "HOOK_MESSAGE"), "on_typing": ("OnTyping", "HOOK_TYPING"),
    "on_nudge": ("OnNudge", "HOOK_NUDGE"), "on_contact_added": ("OnContactAdded", "HOOK_CONTACT_ADDED"),
    "on_join": ("OnJoin", "HOOK_JOIN"), "on_leave": ("OnLeave", "HOOK_LEAVE"),
    "on_presence": ("OnPresence", "HOOK_PRESENCE"),
}


def serve(bot):
    """Runs a bot: an object whose methods are the hooks it implements
    (on_start, on_message, on_typing, on_nudge, on_contact_added, on_join,
    on_leave, on_presence, on_stop), each given the event and the Host."""
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This program is a Nudge bot: the bot host runs it (see bots in nudge.yaml).\n")
        sys.exit(1)
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "").split(",")
    if str(APP_PROTOCOL_VERSION) not in versions:
        sys.stderr.write("bot protocol %d not offered by the host (%s)\n" % (APP_PROTOCOL_VERSION, versions))
        sys.exit(1)
    host_cert = os.environ.get("PLUGIN_CLIENT_CERT", "").encode()
    if not host_cert:
        sys.stderr.write("the host sent no PLUGIN_CLIENT_CERT: it must use AutoMTLS\n")
        sys.exit(1)
    threading.Thread(target=_watch_host, daemon=True).start()

    bot_pb2, bot_pb2_grpc, plugin_pb2, plugin_pb2_grpc, health_pb2, health_pb2_grpc = _compile()
    cert_pem, key_pem, cert_b64 = _certificate()

    # The broker: the host announces its services' addresses on this stream.
    offered, offered_cv = {}, threading.Condition()

    class Broker(plugin_pb2_grpc.GRPCBrokerServicer):
        def StartStream(self, request_iterator, context):
            for info in request_iterator:
                with offered_cv:
                    offered[info.service_id] = info
                    offered_cv.notify_all()
            return
            yield  # a stream of nothing back

    def brokered(service_id):
        with offered_cv:
            if not offered_cv.wait_for(lambda: service_id in offered, timeout=5):
                raise RuntimeError("the host did not offer service %d" % service_id)
            return offered[service_id]

    class Controller(plugin_pb2_grpc.GRPCControllerServicer):
        def Shutdown(self, request, context):
            threading.Timer(0.05, lambda: os._exit(0)).start()
            return plugin_pb2.Empty()

    class Health(health_pb2_grpc.HealthServicer):
        def Check(self, request, context):
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

        def Watch(self, request, context):
            yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    state = {"host": None}

    def hook(attr):
        def handle(self, request, context):
            fn = getattr(bot, attr, None)
            if fn is None:
                context.abort(grpc.StatusCode.UNIMPLEMENTED, "no %s hook" % attr)
            try:
                fn(request, state["host"])
            except Exception as err:  # the host logs it under the bot's name
                context.abort(grpc.StatusCode.UNKNOWN, str(err))
            return bot_pb2.Empty()
        return handle

    class Bot(bot_pb2_grpc.BotServicer):
        def Start(self, request, context):
            try:
                info = brokered(request.host_broker_id)
                target = "unix:" + info.address if info.network == "unix" else info.address
                creds = grpc.ssl_channel_credentials(root_certificates=host_cert, private_key=key_pem,
                                                     certificate_chain=cert_pem)
                channel = grpc.secure_channel(target, creds, options=[
                    ("grpc.ssl_target_name_override", "localhost"), ("grpc.default_authority", "localhost")])
                state["host"] = Host(bot_pb2_grpc.HostStub(channel), bot_pb2)
                if hasattr(bot, "on_start"):
                    bot.on_start(request, state["host"])
            except Exception as err:
                context.abort(grpc.StatusCode.UNKNOWN, str(err))
            hooks = [bot_pb2.Hook.Value(h) for attr, (_, h) in HOOKS.items() if hasattr(bot, attr)]
            return bot_pb2.StartResponse(hooks=hooks)

        Stop = hook("on_stop")

    for attr, (method, _) in HOOKS.items():
        setattr(Bot, method, hook(attr))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    bot_pb2_grpc.add_BotServicer_to_server(Bot(), server)
    plugin_pb2_grpc.add_GRPCBrokerServicer_to_server(Broker(), server)
    plugin_pb2_grpc.add_GRPCControllerServicer_to_server(Controller(), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    sock = os.path.join(os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or tempfile.gettempdir(),
                        "nudge-py-bot-%d.sock" % os.getpid())
    if os.path.exists(sock):
        os.unlink(sock)
    creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=host_cert,
                                        require_client_auth=True)
    server.add_secure_port("unix:" + sock, creds)
    server.start()
    # The handshake line: core protocol, app protocol, network, address,
    # protocol, and our certificate.
    sys.stdout.write("1|%d|unix|%s|grpc|%s\n" % (APP_PROTOCOL_VERSION, sock, cert_b64))
    sys.stdout.flush()
    server.wait_for_termination()
