"""The libvirt element classes: each one written and read back against the XML it stands
for (compared semantically), and a running domain's live XML read as libvirt 9.0 returns it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cloudenv.drivers.compute.libvirt_xml import (
    CPU,
    NAMESPACE,
    OS,
    VCPU,
    Clock,
    Console,
    CPUTopology,
    Devices,
    Disk,
    DiskAuth,
    DiskDriver,
    DiskSource,
    DiskSourceHost,
    DiskTarget,
    Domain,
    DomainSnapshot,
    Emulator,
    Features,
    FirmwareFeature,
    Graphics,
    GraphicsListen,
    Input,
    InstanceMetadata,
    Lifecycle,
    Loader,
    Memballoon,
    Memory,
    Nvram,
    OSType,
    Serial,
    SerialLog,
    Timer,
    Video,
    XmlElement,
    parse_xml,
)

pytestmark = pytest.mark.unit


def canonical(xml: str) -> str:
    """C14N 2.0 without insignificant whitespace: attribute order and quoting, indentation
    and namespace prefixes no longer matter."""
    return ET.canonicalize(xml_data=xml, strip_text=True)


def assert_same_xml(actual: str, expected: str) -> None:
    assert canonical(actual) == canonical(expected)


NS = f'xmlns:cloudenv="{NAMESPACE}"'

# (object, the XML it must write and be read from)
CASES: list[tuple[XmlElement, str]] = [
    (Memory(value=256, unit="MiB"), "<memory unit='MiB'>256</memory>"),
    (VCPU(count=4, placement="static"), "<vcpu placement='static'>4</vcpu>"),
    (
        CPUTopology(sockets=1, cores=2, threads=2, dies=1),
        "<topology sockets='1' dies='1' cores='2' threads='2'/>",
    ),
    (
        CPU(topology=CPUTopology(sockets=2, cores=1, threads=1)),
        "<cpu><topology sockets='2' cores='1' threads='1'/></cpu>",
    ),
    (
        CPU(mode="custom", match="exact", check="none", model="qemu64", model_fallback="forbid"),
        "<cpu mode='custom' match='exact' check='none'>"
        "<model fallback='forbid'>qemu64</model></cpu>",
    ),
    (CPU(mode="host-passthrough"), "<cpu mode='host-passthrough'/>"),
    (
        Features(acpi=True, apic=True, smm=True),
        "<features><acpi/><apic/><smm state='on'/></features>",
    ),
    (Features(acpi=True), "<features><acpi/></features>"),
    (
        Clock(offset="utc", timers=(Timer(name="rtc", tickpolicy="catchup"),)),
        "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>",
    ),
    (Timer(name="hpet", present=False), "<timer name='hpet' present='no'/>"),
    (
        OSType(arch="x86_64", machine="q35"),
        "<type arch='x86_64' machine='q35'>hvm</type>",
    ),
    (
        FirmwareFeature(name="secure-boot", enabled=False),
        "<feature enabled='no' name='secure-boot'/>",
    ),
    (
        Loader(path="/usr/share/OVMF/OVMF_CODE_4M.fd", readonly=True, type="pflash"),
        "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>",
    ),
    (
        Nvram(path="/var/lib/libvirt/qemu/nvram/x_VARS.fd", template="/usr/share/OVMF/V.fd"),
        "<nvram template='/usr/share/OVMF/V.fd'>/var/lib/libvirt/qemu/nvram/x_VARS.fd</nvram>",
    ),
    (
        OS(
            type=OSType(arch="x86_64", machine="q35"),
            firmware="efi",
            firmware_features=(FirmwareFeature(name="secure-boot", enabled=False),),
            boot_devs=("cdrom", "hd"),
        ),
        "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type>"
        "<firmware><feature enabled='no' name='secure-boot'/></firmware>"
        "<boot dev='cdrom'/><boot dev='hd'/></os>",
    ),
    (
        OS(
            type=OSType(arch="x86_64", machine="pc"),
            kernel="/k/vmlinuz",
            initrd="/k/initrd.gz",
            cmdline="console=ttyS0,115200 panic=-1",
        ),
        "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k/vmlinuz</kernel>"
        "<initrd>/k/initrd.gz</initrd><cmdline>console=ttyS0,115200 panic=-1</cmdline></os>",
    ),
    (
        Emulator(path="/usr/bin/qemu-system-x86_64"),
        "<emulator>/usr/bin/qemu-system-x86_64</emulator>",
    ),
    (DiskDriver(name="qemu", type="qcow2"), "<driver name='qemu' type='qcow2'/>"),
    (DiskSource(file="/p/a.qcow2"), "<source file='/p/a.qcow2'/>"),
    (DiskSource(dev="/dev/sdb"), "<source dev='/dev/sdb'/>"),
    (DiskSource(pool="ce-pool", volume="d1.qcow2"), "<source pool='ce-pool' volume='d1.qcow2'/>"),
    (
        DiskSource(
            protocol="iscsi",
            name="iqn.2026-11.test.cloudenv:lun1/1",
            hosts=(DiskSourceHost(name="127.0.0.1", port=3260),),
        ),
        "<source protocol='iscsi' name='iqn.2026-11.test.cloudenv:lun1/1'>"
        "<host name='127.0.0.1' port='3260'/></source>",
    ),
    (
        DiskSource(
            protocol="rbd",
            name="rbdpool/v1",
            hosts=(DiskSourceHost(name="mon1"),),
            auth=DiskAuth(username="libvirt", secret_type="ceph", secret_usage="ce-p1"),
        ),
        "<source protocol='rbd' name='rbdpool/v1'><host name='mon1'/>"
        "<auth username='libvirt'><secret type='ceph' usage='ce-p1'/></auth></source>",
    ),
    (DiskTarget(dev="vda", bus="virtio"), "<target dev='vda' bus='virtio'/>"),
    (
        Disk(
            type="file",
            device="cdrom",
            driver=DiskDriver(name="qemu", type="raw"),
            source=DiskSource(file="/iso/guest.iso"),
            target=DiskTarget(dev="hdc", bus="ide"),
            serial="ce-cd",
            readonly=True,
            boot_order=1,
        ),
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
        "<source file='/iso/guest.iso'/><target dev='hdc' bus='ide'/><serial>ce-cd</serial>"
        "<readonly/><boot order='1'/></disk>",
    ),
    (
        Disk(type="volume", source=DiskSource(pool="p", volume="v"), target=DiskTarget("vdb")),
        "<disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vdb'/></disk>",
    ),
    (SerialLog(file="/var/log/s.log", append=False), "<log file='/var/log/s.log' append='off'/>"),
    (
        Serial(type="pty", target_port=0, log=SerialLog(file="/l")),
        "<serial type='pty'><log file='/l'/><target port='0'/></serial>",
    ),
    (
        Console(type="pty", target_type="serial", target_port=0),
        "<console type='pty'><target type='serial' port='0'/></console>",
    ),
    (
        GraphicsListen(address="127.0.0.1"),
        "<listen type='address' address='127.0.0.1'/>",
    ),
    (GraphicsListen(type="socket"), "<listen type='socket'/>"),
    (
        Graphics(
            type="vnc",
            socket="/var/lib/libvirt/qemu/domain-1-x/vnc.sock",
            listens=(
                GraphicsListen(type="socket", socket="/var/lib/libvirt/qemu/domain-1-x/vnc.sock"),
            ),
        ),
        "<graphics type='vnc' socket='/var/lib/libvirt/qemu/domain-1-x/vnc.sock'>"
        "<listen type='socket' socket='/var/lib/libvirt/qemu/domain-1-x/vnc.sock'/></graphics>",
    ),
    (
        Graphics(
            type="vnc",
            autoport=True,
            listen="127.0.0.1",
            listens=(GraphicsListen(address="127.0.0.1"),),
        ),
        "<graphics type='vnc' autoport='yes' listen='127.0.0.1'>"
        "<listen type='address' address='127.0.0.1'/></graphics>",
    ),
    (Video(model="vga"), "<video><model type='vga'/></video>"),
    (Memballoon(model="none"), "<memballoon model='none'/>"),
    (Input(type="tablet", bus="usb"), "<input type='tablet' bus='usb'/>"),
    (
        InstanceMetadata(items=(("project", "prj-1"), ("owner", "usr 2"))),
        f"<cloudenv:instance {NS}><cloudenv:item key='project'>prj-1</cloudenv:item>"
        "<cloudenv:item key='owner'>usr 2</cloudenv:item></cloudenv:instance>",
    ),
    (
        Devices(
            emulator=Emulator("/usr/bin/qemu-system-x86_64"),
            inputs=(Input(type="tablet", bus="usb"),),
            memballoon=Memballoon(),
        ),
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        "<input type='tablet' bus='usb'/><memballoon model='none'/></devices>",
    ),
    (
        DomainSnapshot(name="s1", description="before upgrade"),
        "<domainsnapshot><name>s1</name><description>before upgrade</description></domainsnapshot>",
    ),
]


@pytest.mark.parametrize(("obj", "xml"), CASES, ids=lambda c: type(c).__name__)
def test_element_writes_its_xml(obj: XmlElement, xml: str) -> None:
    assert_same_xml(obj.to_xml(), xml)


@pytest.mark.parametrize(("obj", "xml"), CASES, ids=lambda c: type(c).__name__)
def test_element_reads_its_xml(obj: XmlElement, xml: str) -> None:
    assert type(obj).from_xml(xml) == obj
    assert type(obj).from_xml(obj.to_xml(pretty=True)) == obj


def _full_domain() -> Domain:
    return Domain(
        type="qemu",
        name="inst-1",
        uuid="0b3c3d3e-1111-4222-8333-944455556666",
        title="web-1",
        description="the web server",
        metadata=InstanceMetadata.from_dict({"project": "prj-1"}),
        memory=Memory(value=512, unit="MiB"),
        vcpu=VCPU(count=2),
        os=OS(type=OSType(arch="x86_64", machine="pc"), boot_devs=("hd",)),
        cpu=CPU(topology=CPUTopology(sockets=1, cores=2, threads=1)),
        features=Features(acpi=True, apic=True),
        clock=Clock(),
        lifecycle=Lifecycle(on_poweroff="destroy", on_reboot="restart", on_crash="destroy"),
        devices=Devices(
            emulator=Emulator("/usr/bin/qemu-system-x86_64"),
            disks=(
                Disk(
                    driver=DiskDriver(name="qemu", type="qcow2"),
                    source=DiskSource(file="/var/lib/cloudenv/a.qcow2"),
                    target=DiskTarget(dev="vda", bus="virtio"),
                    serial="ce-disk-1",
                ),
            ),
            serials=(Serial(target_port=0),),
            consoles=(Console(target_type="serial", target_port=0),),
            memballoon=Memballoon(),
        ),
    )


def test_domain_round_trips() -> None:
    domain = _full_domain()
    xml = domain.to_xml(pretty=True)
    assert Domain.from_xml(xml) == domain
    assert_same_xml(Domain.from_xml(xml).to_xml(), xml)


def test_domain_writes_elements_in_libvirt_order() -> None:
    root = parse_xml(_full_domain().to_xml())
    assert [child.tag for child in root] == [
        "name",
        "uuid",
        "title",
        "description",
        "metadata",
        "memory",
        "vcpu",
        "os",
        "features",
        "cpu",
        "clock",
        "on_poweroff",
        "on_reboot",
        "on_crash",
        "devices",
    ]
    assert root.find(f"metadata/{{{NAMESPACE}}}instance") is not None


def test_metadata_uses_the_cloudenv_prefix() -> None:
    xml = InstanceMetadata.from_dict({"k": "v"}).to_xml()
    assert xml.startswith(f"<cloudenv:instance {NS}>")


def test_metadata_keys_need_not_be_xml_names() -> None:
    meta = InstanceMetadata.from_dict({"a key/with <odd> chars": "x & y"})
    assert InstanceMetadata.from_xml(meta.to_xml()).as_dict() == {"a key/with <odd> chars": "x & y"}


def test_exported_names_are_pinned() -> None:
    import cloudenv.drivers.compute.libvirt_xml as package

    assert sorted(package.__all__) == sorted(
        ["CPU", "NAMESPACE", "OS", "VCPU", "CPUTopology", "Clock", "Console", "CpuTune",
         "Filesystem", "IdMap", "IdRange", "MemTune", "Devices", "Disk",
         "DiskAuth", "DiskDriver", "DiskSource", "DiskSourceHost", "DiskTarget", "Domain",
         "DomainSnapshot", "Emulator", "Features", "FirmwareFeature", "Graphics", "GraphicsListen",
         "Input", "InstanceMetadata", "Interface", "Lifecycle", "Loader", "Memballoon", "Memory",
         "Nvram", "OSType", "Serial", "SerialLog", "Timer", "Video", "Vlan", "VlanTag",
         "XmlElement", "parse_xml"]
    )  # fmt: skip


def test_wrong_element_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a <disk> element"):
        Disk.from_xml("<serial type='pty'/>")


def test_disk_without_target_is_refused() -> None:
    with pytest.raises(ValueError, match="no <target>"):
        Disk.from_xml("<disk type='file' device='disk'><source file='/a'/></disk>")


def test_memory_kib_converts_units() -> None:
    assert Memory(value=256, unit="MiB").kib == 262144
    assert Memory(value=1, unit="GiB").kib == 1048576
    assert Memory.from_xml("<memory>2048</memory>") == Memory(value=2048, unit="KiB")


def test_smm_without_state_means_on() -> None:
    assert Features.from_xml("<features><smm/></features>").smm is True


# What libvirt 9.0 returns for a running TCG guest (virDomainGetXMLDesc, flags 0): the
# defined XML plus ids, aliases, addresses, pty paths, the VNC port, controllers, the
# firmware it picked and a security label.
LIVE_DOMAIN = f"""
<domain type='qemu' id='7'>
  <name>inst-0f3a</name>
  <uuid>4a46a163-fb6e-4ae7-8a5c-891381a09e59</uuid>
  <title>web-1</title>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
    <cloudenv:instance {NS}>
      <cloudenv:item key="project">prj-1</cloudenv:item>
      <cloudenv:item key="image">img-debian</cloudenv:item>
    </cloudenv:instance>
  </metadata>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <resource><partition>/machine</partition></resource>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <firmware><feature enabled='no' name='secure-boot'/></firmware>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'
      >/var/lib/libvirt/qemu/nvram/inst-0f3a_VARS.fd</nvram>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/><vmport state='off'/></features>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <topology sockets='1' dies='1' cores='2' threads='1'/>
    <feature policy='require' name='hypervisor'/>
  </cpu>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm><suspend-to-mem enabled='no'/></pm>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/cloudenv/pools/p1/vol-1.qcow2' index='2'/>
      <backingStore type='file' index='3'>
        <format type='qcow2'/>
        <source file='/var/lib/cloudenv/images/debian.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <serial>ce-vol-1</serial>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/var/cache/cloudenv/iso/guest.iso' index='1'/>
      <backingStore/>
      <target dev='sdc' bus='sata'/>
      <readonly/>
      <serial>ce-cd</serial>
      <boot order='1'/>
      <alias name='sata0-0-2'/>
      <address type='drive' controller='0' bus='0' target='0' unit='2'/>
    </disk>
    <controller type='usb' index='0' model='qemu-xhci'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </controller>
    <controller type='sata' index='0'><alias name='ide'/></controller>
    <controller type='pci' index='0' model='pcie-root'><alias name='pcie.0'/></controller>
    <interface type='bridge'>
      <mac address='52:54:00:ce:00:10'/>
      <source bridge='cebr-ovs'/>
      <virtualport type='openvswitch'><parameters interfaceid='x'/></virtualport>
      <target dev='vnet8'/>
      <model type='virtio'/>
      <alias name='net0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <log file='/var/log/cloudenv/serial/inst-0f3a.log' append='off'/>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <source path='/dev/pts/3'/>
      <log file='/var/log/cloudenv/serial/inst-0f3a.log' append='off'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0' state='disconnected'/>
      <alias name='channel0'/>
    </channel>
    <input type='tablet' bus='usb'>
      <alias name='input0'/>
      <address type='usb' bus='0' port='1'/>
    </input>
    <input type='mouse' bus='ps2'><alias name='input1'/></input>
    <input type='keyboard' bus='ps2'><alias name='input2'/></input>
    <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='vga' vram='16384' heads='1' primary='yes'/>
      <alias name='video0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </video>
    <memballoon model='none'/>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+64055:+64055</label>
    <imagelabel>+64055:+64055</imagelabel>
  </seclabel>
</domain>
"""


@pytest.fixture(scope="module")
def live() -> Domain:
    return Domain.from_xml(LIVE_DOMAIN)


def test_live_identity_title_and_metadata(live: Domain) -> None:
    assert (live.type, live.id, live.name) == ("qemu", 7, "inst-0f3a")
    assert live.uuid == "4a46a163-fb6e-4ae7-8a5c-891381a09e59"
    assert live.title == "web-1"
    assert live.metadata is not None
    assert live.metadata.as_dict() == {"project": "prj-1", "image": "img-debian"}


def test_live_vnc_port(live: Domain) -> None:
    (vnc,) = live.devices.graphics
    assert (vnc.type, vnc.port, vnc.autoport, vnc.listen) == ("vnc", 5900, True, "127.0.0.1")
    assert vnc.listens == (GraphicsListen(type="address", address="127.0.0.1"),)


def test_live_disks(live: Domain) -> None:
    disks = {disk.target.dev: disk for disk in live.devices.disks}
    assert {dev: disk.serial for dev, disk in disks.items()} == {"vda": "ce-vol-1", "sdc": "ce-cd"}
    vda, sdc = disks["vda"], disks["sdc"]
    assert vda.source == DiskSource(file="/var/lib/cloudenv/pools/p1/vol-1.qcow2")
    assert vda.driver == DiskDriver(name="qemu", type="qcow2")
    assert (vda.alias, vda.target.bus, vda.readonly) == ("virtio-disk0", "virtio", False)
    assert (sdc.device, sdc.readonly, sdc.boot_order, sdc.target.bus) == (
        "cdrom",
        True,
        1,
        "sata",
    )


def test_live_console_and_serial(live: Domain) -> None:
    (serial,) = live.devices.serials
    assert serial.source_path == "/dev/pts/3"
    assert serial.log == SerialLog(file="/var/log/cloudenv/serial/inst-0f3a.log", append=False)
    assert (serial.target_type, serial.target_port) == ("isa-serial", 0)
    (console,) = live.devices.consoles
    assert (console.tty, console.target_type, console.target_port) == ("/dev/pts/3", "serial", 0)


def test_live_platform(live: Domain) -> None:
    assert live.memory.kib == 262144
    assert live.vcpu == VCPU(count=2, placement="static")
    assert live.cpu is not None
    assert live.cpu.topology == CPUTopology(sockets=1, cores=2, threads=1, dies=1)
    assert live.features == Features(acpi=True, apic=True)
    assert live.lifecycle == Lifecycle("destroy", "restart", "destroy")
    assert live.os.type.machine == "pc-q35-7.2"
    assert live.os.firmware_feature("secure-boot") is False
    assert live.os.loader is not None
    assert live.os.loader.path == "/usr/share/OVMF/OVMF_CODE_4M.fd"
    assert live.os.nvram is not None
    assert live.os.nvram.path == "/var/lib/libvirt/qemu/nvram/inst-0f3a_VARS.fd"
    assert [i.type for i in live.devices.inputs] == ["tablet", "mouse", "keyboard"]
    assert live.devices.videos == (Video(model="vga", vram=16384, heads=1),)
    assert live.devices.memballoon == Memballoon(model="none")


def test_live_view_writes_back_without_libvirt_only_parts(live: Domain) -> None:
    root = parse_xml(live.to_xml())
    assert root.find("seclabel") is None
    assert root.find("devices/controller") is None
    assert root.find("metadata/{http://libosinfo.org/xmlns/libvirt/domain/1.0}libosinfo") is None
    assert Domain.from_xml(live.to_xml()) == live


def test_live_snapshot() -> None:
    snapshot = DomainSnapshot.from_xml(
        """<domainsnapshot>
          <name>s2</name><description>nightly</description><state>running</state>
          <parent><name>s1</name></parent><creationTime>1764000000</creationTime>
          <memory snapshot='internal'/>
          <disks><disk name='vda' snapshot='internal'/></disks>
          <domain type='qemu'><name>inst-0f3a</name></domain>
          <active>1</active>
        </domainsnapshot>"""
    )
    assert snapshot == DomainSnapshot(
        name="s2", description="nightly", state="running", creation_time=1764000000, parent="s1"
    )
