"""Pure parts of the local control plane: PKI, kubeconfig, command lines, kwok stages, waiting."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rayjob_devenv import components as comp
from rayjob_devenv.kubeconfig import dump_kubeconfig, render_kubeconfig, write_kubeconfig
from rayjob_devenv.pki import Pki, generate_pki, write_pki
from rayjob_devenv.waiting import WaitTimeout, wait_for

ANNOTATION = "devenv.rayjob-operator.io"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return generate_pki()


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def test_pki_leaves_are_signed_by_the_ca(pki: Pki) -> None:
    ca = _cert(pki.ca.cert_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for pem in (pki.serving.cert_pem, pki.admin.cert_pem):
        leaf = _cert(pem)
        leaf.verify_directly_issued_by(ca)
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_serving_cert_covers_loopback(pki: Pki) -> None:
    cert = _cert(pki.serving.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_admin_cert_is_a_system_masters_client(pki: Pki) -> None:
    cert = _cert(pki.admin.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_written_pki_keeps_private_keys_private(pki: Pki, tmp_path: Path) -> None:
    paths = write_pki(pki, tmp_path / "pki")
    assert paths.sa_public_key.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert paths.sa_private_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    for key in (paths.ca_key, paths.serving_key, paths.admin_key, paths.sa_private_key):
        assert key.stat().st_mode & 0o077 == 0


def test_kubeconfig_embeds_credentials_and_selects_its_context(pki: Pki, tmp_path: Path) -> None:
    config = render_kubeconfig(
        "https://127.0.0.1:6443",
        ca_pem=pki.ca.cert_pem,
        client_cert_pem=pki.admin.cert_pem,
        client_key_pem=pki.admin.key_pem,
    )
    path = write_kubeconfig(tmp_path / "kubeconfig", config)
    loaded = yaml.safe_load(path.read_text())
    assert loaded == yaml.safe_load(dump_kubeconfig(config))
    assert path.stat().st_mode & 0o077 == 0
    (context,) = loaded["contexts"]
    assert loaded["current-context"] == context["name"]
    (cluster,) = loaded["clusters"]
    (user,) = loaded["users"]
    assert cluster["name"] == context["context"]["cluster"]
    assert user["name"] == context["context"]["user"]
    assert cluster["cluster"]["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == pki.ca.cert_pem
    assert base64.b64decode(user["user"]["client-certificate-data"]) == pki.admin.cert_pem
    assert base64.b64decode(user["user"]["client-key-data"]) == pki.admin.key_pem


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(arg[2:].split("=", 1) for arg in argv[1:])


def test_command_lines_stay_on_loopback_and_inside_the_data_dir(pki: Pki, tmp_path: Path) -> None:
    layout = comp.Layout(tmp_path)
    ports = comp.Ports.from_list([2001, 2002, 2003, 2004, 2005])
    paths = write_pki(pki, layout.pki)
    bins = Path("/bins")
    argvs = {
        "etcd": comp.etcd_argv(bins, layout, ports),
        "kube-apiserver": comp.apiserver_argv(bins, layout, ports, paths),
        "kube-controller-manager": comp.controller_manager_argv(bins, layout, ports, paths),
        "kube-scheduler": comp.scheduler_argv(bins, layout, ports),
        "kwok": comp.kwok_argv(bins, layout),
    }
    for name, argv in argvs.items():
        assert argv[0] == f"/bins/{name}"
        for flag, value in _flags(argv).items():
            if flag == "authorization-always-allow-paths":  # URL paths, not files
                continue
            for path in (v for v in value.split(",") if v.startswith("/")):
                assert path.startswith(str(tmp_path)), f"{name} writes outside the data dir: {path}"
            assert "0.0.0.0" not in value, f"{name} --{flag} listens beyond loopback"
    api = _flags(argvs["kube-apiserver"])
    assert api["secure-port"] == "2003"
    assert api["etcd-servers"] == "http://127.0.0.1:2001"
    assert api["authorization-mode"] == "RBAC"
    assert api["disable-admission-plugins"] == "ServiceAccount"
    assert _flags(argvs["kube-controller-manager"])["controllers"] == "*"
    assert _flags(argvs["kube-scheduler"])["secure-port"] == "2005"
    assert _flags(argvs["kwok"])["manage-all-nodes"] == "true"


def test_fake_node_has_room_and_no_taint() -> None:
    node = comp.FakeNode(name="n1", labels={"pool": "a"}).manifest()
    assert node["metadata"]["name"] == "n1"
    assert node["metadata"]["labels"]["pool"] == "a"
    assert "taints" not in node["spec"]
    assert node["status"]["allocatable"] == {"cpu": "64", "memory": "256Gi", "pods": "1000"}


def test_kwok_config_holds_our_stages() -> None:
    docs = list(yaml.safe_load_all(comp.kwok_config_text()))
    assert {d["kind"] for d in docs} == {"Stage"}
    by_name = {d["metadata"]["name"]: d for d in docs}
    assert len(by_name) == len(docs)
    kinds = {name: d["spec"]["resourceRef"]["kind"] for name, d in by_name.items()}
    assert sorted(k for k in kinds.values() if k == "Node") == ["Node", "Node"]
    complete = yaml.safe_dump(by_name["devenv-pod-complete"])
    assert f"{ANNOTATION}/complete" in complete
    assert f"{ANNOTATION}/stay-pending" in yaml.safe_dump(by_name["devenv-pod-ready"])
    delete_steps = by_name["devenv-pod-delete"]["spec"]["steps"]
    assert delete_steps == [{"finalizers": {"empty": True}}, {"delete": True}]


def test_wait_for_returns_the_first_truthy_value() -> None:
    values = iter([None, False, "ready"])
    assert wait_for(lambda: next(values), 5, "a value", interval=0.001) == "ready"


def test_wait_for_treats_an_empty_answer_as_not_yet() -> None:
    answers: list[list[str]] = [[], [], ["pod-a"]]
    assert wait_for(lambda: answers.pop(0), 5, "a pod", interval=0.001) == ["pod-a"]


def test_wait_for_names_what_it_waited_for() -> None:
    def failing() -> bool:
        raise ConnectionRefusedError("nope")

    with pytest.raises(WaitTimeout, match=r"waiting for the moon.*ConnectionRefusedError"):
        wait_for(failing, 0.05, "the moon", interval=0.01)


def test_wait_for_stops_at_once_when_aborted() -> None:
    with pytest.raises(WaitTimeout, match="gave up waiting for a pod: the process exited"):
        wait_for(lambda: None, 30, "a pod", abort=lambda: "the process exited")
