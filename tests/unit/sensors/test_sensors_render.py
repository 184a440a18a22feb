"""Scene rendering: room projection, radiance (not temperature) mixing, sub-pixel
objects, transparent flames, smoke layer, optics blur.

Physics: Vollmer & Möllmann, *Infrared Thermal Imaging*, 2nd ed. (2018), ch. 1.4 and 7
(radiance mixing, emissivity, transmission); Planck band radiance as in
firesight.physics.radiometry."""

import numpy as np
from numpy.testing import assert_allclose

from firesight.physics.radiometry import band_radiance_to_temperature, planck_band_radiance
from firesight.scenarios.render import render_apparent_temperature, render_radiance
from firesight.scenarios.scene import CameraPose, SmokeLayer, ThermalObject, ThermalScene
from firesight.sensors.lepton import LeptonCamera

ROOM_K = 293.15
SPOT_K = 873.15  # 600 C
POSE = CameraPose(np.array([0.5, 2.0, 1.5]), 0.0, 0.0)  # along +x, 1.5 m high, level
NO_BLUR = {"psf_sigma_px": 0.0, "psf_halo_fraction": 0.0}  # optics blur off (core and wings)


def _scene(objects=(), smoke=None, surface_k=ROOM_K, room=(10.0, 4.0, 3.0)):
    return ThermalScene(time_s=np.array([0.0]), width_m=room[0], depth_m=room[1], height_m=room[2],
                        surface_temperature_k=np.array([surface_k]), objects=list(objects), smoke=smoke)


def _camera(pose=POSE, **kw):
    return LeptonCamera(pose=pose, rng=np.random.default_rng(0), **kw)


def _spot(diameter_m, distance_m=5.0, y_m=2.0, temperature_k=SPOT_K, emissivity=1.0):
    return ThermalObject("spot", np.array([0.5 + distance_m, y_m, 1.5]), diameter_m, diameter_m,
                         temperature_k, emissivity=emissivity)


def test_empty_room_reads_its_surface_temperature():
    """An isothermal grey enclosure is a blackbody cavity: every pixel reads T_s."""
    t = render_apparent_temperature(_scene(surface_k=300.0), _camera(), 0)
    assert t.shape == (120, 160)
    assert_allclose(t, 300.0, atol=1e-3)


def test_radiance_is_conserved_for_a_small_disk():
    """Sum over pixels of (L - L_room) x pixel solid angle (1/f^2 near the axis) equals
    (L_spot - L_room) x the disk's solid angle pi r^2 / d^2, to the supersampling error."""
    cam = _camera()
    img = render_radiance(_scene([_spot(0.05, y_m=2.013)]), cam, 0)
    l_room, l_spot = planck_band_radiance(ROOM_K), planck_band_radiance(SPOT_K)
    measured = (img - l_room).sum() / cam.focal_px**2
    expected = (l_spot - l_room) * np.pi * 0.025**2 / 5.0**2
    assert_allclose(measured, expected, rtol=0.03)


def test_sub_pixel_hot_spot_reads_far_cooler_than_the_spot():
    """ARCHITECTURE.md / issue 2: a small glowing spot is a few pixels that read far
    cooler than the spot. At 5 m one pixel spans 5 m x 57 deg / 160 = 3.1 cm, so a
    10 cm 600 C spot covers ~3 pixels across and a 2 cm spot is sub-pixel; the optics
    blur spreads both."""
    cam = _camera()
    big = render_apparent_temperature(_scene([_spot(0.10)]), cam, 0).max()
    small = render_apparent_temperature(_scene([_spot(0.02)]), cam, 0).max()
    assert big < SPOT_K - 100.0  # at least 100 K cooler than the spot
    assert small < SPOT_K - 400.0  # sub-pixel: hundreds of kelvin cooler
    assert small > ROOM_K + 20.0  # ... but still a clear hot pixel


def test_pixels_mix_radiance_not_temperature():
    """The brightest pixel of a sub-pixel spot holds a radiance fraction f of the spot;
    its reading is the blackbody temperature of f L_spot + (1 - f) L_room, which is
    hotter than the temperature mix f T_spot + (1 - f) T_room (Planck is convex)."""
    cam = _camera()
    scene = _scene([_spot(0.02)])
    img = render_radiance(scene, cam, 0)
    i = np.unravel_index(np.argmax(img), img.shape)
    l_room, l_spot = planck_band_radiance(ROOM_K), planck_band_radiance(SPOT_K)
    f = (img[i] - l_room) / (l_spot - l_room)
    assert 0.05 < f < 0.6
    no_blur = _camera(model=NO_BLUR)
    t_pixel = render_apparent_temperature(scene, no_blur, 0)[i]
    assert_allclose(t_pixel, band_radiance_to_temperature(img[i]), atol=2e-3)
    assert t_pixel > f * SPOT_K + (1 - f) * ROOM_K + 30.0


def test_partly_transparent_flame_shows_what_lies_behind():
    """A flame of emissivity 0.4 filling a pixel: L = 0.4 L_b(T_f) + 0.6 L_behind."""
    cam = _camera()
    flame = ThermalObject("flame", np.array([3.5, 2.0, 1.5]), 0.8, 0.8, 1100.0, emissivity=0.4)
    img = render_radiance(_scene([flame]), cam, 0)
    expected = 0.4 * planck_band_radiance(1100.0) + 0.6 * planck_band_radiance(ROOM_K)
    assert_allclose(img[60, 80], expected, rtol=1e-9)
    # a person standing behind the flame shows through it
    person = ThermalObject("person", np.array([5.0, 2.0, 1.5]), 1.0, 1.8, 306.0, emissivity=1.0)
    img2 = render_radiance(_scene([flame, person]), cam, 0)
    expected2 = 0.4 * planck_band_radiance(1100.0) + 0.6 * planck_band_radiance(306.0)
    assert_allclose(img2[60, 80], expected2, rtol=1e-9)


def test_hot_smoke_layer_covers_the_upper_part_of_the_view():
    """Beer–Lambert through a layer 0.8 m deep at 80 C with emissivity 0.5 over its
    thickness: rays into the ceiling region read warmer; rays to the floor below the
    layer are untouched; a ray running level inside the layer for 9.5 m to the far wall
    has transmittance 0.5^(9.5 / 0.8)."""
    smoke = SmokeLayer(depth_m=np.array([0.8]), temperature_k=np.array([353.15]), emissivity=np.array([0.5]))
    level_in_layer = CameraPose(np.array([0.5, 2.0, 2.6]), 0.0, 0.0)
    img = render_radiance(_scene(smoke=smoke), _camera(level_in_layer), 0)
    l_room, l_smoke = planck_band_radiance(ROOM_K), planck_band_radiance(353.15)
    tau = 0.5 ** (9.5 / 0.8)  # the four centre rays run within 0.4 deg of level
    centre = img[59:61, 79:81].mean()
    assert_allclose(centre, tau * l_room + (1 - tau) * l_smoke, rtol=2e-3)
    t = render_apparent_temperature(_scene(smoke=smoke), _camera(), 0)
    assert t[0].mean() > ROOM_K + 5.0  # top rows: ceiling seen through the layer
    assert_allclose(t[-1], ROOM_K, atol=1e-3)  # bottom rows: floor, rays below the layer


def test_camera_pose_projects_objects_where_geometry_says():
    """Pinhole projection with yaw and tilt: a floor patch 3 m ahead of a camera 2.5 m
    high, tilted down by atan(2.5/3), appears at the image centre; turning the camera
    away (yaw 180 deg) removes it from view."""
    patch = ThermalObject("hotplate", np.array([3.5, 2.0, 0.0]), 0.3, 0.3, 500.0, orientation="horizontal")
    tilt = np.degrees(np.arctan2(2.5, 3.0))
    cam = _camera(CameraPose(np.array([0.5, 2.0, 2.5]), 0.0, tilt))
    t = render_apparent_temperature(_scene([patch]), cam, 0)
    r, c = np.unravel_index(np.argmax(t), t.shape)
    assert abs(r - 59.5) <= 1.0 and abs(c - 79.5) <= 1.0
    away = _camera(CameraPose(np.array([0.5, 2.0, 2.5]), 180.0, tilt))
    assert_allclose(render_apparent_temperature(_scene([patch]), away, 0), ROOM_K, atol=1e-3)


def test_optics_blur_spreads_a_spot_but_keeps_its_radiance():
    """The PSF (Gaussian core and wings, linear in radiance) lowers the peak and widens the spot;
    radiance summed over the image is unchanged."""
    scene = _scene([_spot(0.02)])
    sharp = render_apparent_temperature(scene, _camera(model=NO_BLUR), 0)
    blurred = render_apparent_temperature(scene, _camera(), 0)
    assert blurred.max() < sharp.max() - 20.0
    assert (blurred > ROOM_K + 1.0).sum() > (sharp > ROOM_K + 1.0).sum()
    l_room = planck_band_radiance(ROOM_K)
    assert_allclose((planck_band_radiance(blurred) - l_room).sum(),
                    (planck_band_radiance(sharp) - l_room).sum(), rtol=2e-3)


def _streaming_scene(smoke_rate_m_per_s):
    """6 s at 0.25 s steps: a puffing, growing, half-transparent flame (changes every
    sample), a person and a horizontal hob (static), under a smoke layer that deepens
    at ``smoke_rate_m_per_s`` (0: steady), camera under the ceiling inside the layer."""
    t = np.arange(0.0, 6.01, 0.25)
    grow = t / 6.0
    rate = smoke_rate_m_per_s
    scene = ThermalScene(
        time_s=t, width_m=6.0, depth_m=8.0, height_m=3.0, surface_temperature_k=ROOM_K + 0.1 * rate * t,
        objects=[ThermalObject("flame", np.array([3.0, 6.0, 0.3]), 0.1 + 0.3 * grow,
                               (0.2 + 0.4 * grow) * (1 + 0.3 * np.sin(4 * np.pi * t)), 900.0 + 200 * grow, 0.5),
                 ThermalObject("person", np.array([1.5, 4.0, 0.9]), 0.5, 1.8, 306.0, 0.98),
                 ThermalObject("hob", np.array([4.0, 5.0, 0.9]), 0.2, 0.2, 450.0, 0.9, "horizontal")],
        smoke=SmokeLayer(depth_m=0.5 + rate * t, temperature_k=ROOM_K + 40.0 + 20.0 * rate * t,
                         emissivity=0.3 + rate * t / 3.0))
    return scene, _camera(CameraPose(np.array([3.0, 0.1, 2.8]), 90.0, 20.0))


def _exact_keys(scene, cam, fpn):
    from firesight.scenarios.render import _SceneRenderer

    ref = _SceneRenderer(scene, cam)
    return np.stack([ref.apparent_temperature_k(k).reshape(-1) * 100.0 + fpn for k in range(scene.time_s.size)])


def test_compiled_streaming_path_matches_the_exact_render():
    """The compiled key images (float32, polynomial inverse Planck, base images every
    1 s) equal the float64 reference render (exact inverse) to < 0.05 counts (0.5 mK)
    at every 0.25 s sample while only the objects change; with a smoke layer deepening
    by 3 cm/s the 1 s base samples stay exact and the samples between differ by the
    linear interpolation of the layer only, < 3 counts (30 mK, below the 50 mK NETD of
    the Lepton 3.5 datasheet). Each key's reported peak bounds its largest value and its
    hint points at a pixel within 1 count of it; the bytes do not depend on how the
    samples are split into calls."""
    from firesight.scenarios.render import _SceneRenderer

    scene, cam = _streaming_scene(0.0)
    fpn = cam.fpn_k * np.float32(100.0)
    keys, peak, hint = _SceneRenderer(scene, cam).key_counts_range(0, scene.time_s.size - 1, fpn)
    exact = _exact_keys(scene, cam, fpn)
    assert np.abs(keys - exact).max() < 0.05
    assert keys.max() > (ROOM_K + 100.0) * 100.0  # the flame is in view
    assert np.all(peak >= keys.max(axis=1))
    assert np.all(keys[np.arange(keys.shape[0]), hint] > keys.max(axis=1) - 1.0)
    renderer = _SceneRenderer(scene, cam)
    split = np.concatenate([renderer.key_counts_range(a, min(a + 2, scene.time_s.size - 1), fpn)[0]
                            for a in range(0, scene.time_s.size, 3)])
    assert np.array_equal(split, keys)

    scene, cam = _streaming_scene(0.03)
    keys = _SceneRenderer(scene, cam).key_counts_range(0, scene.time_s.size - 1, fpn)[0]
    error = np.abs(keys - _exact_keys(scene, cam, fpn)).max(axis=1)
    assert error[::4].max() < 0.05  # 1 s base samples
    assert error.max() < 3.0


def test_supersampled_coverage_counts_the_samples_inside():
    """The row-by-row coverage (quadratic inequality per sample row) counts exactly the
    samples a brute-force ray–plane test puts inside the ellipse (Vollmer & Möllmann
    ch. 7 mixing needs the covered fraction), for random poses, sizes, orientations and
    supersampling, including ellipses reaching behind the camera."""
    from firesight.scenarios._render_kernels import _plane_axes, ellipse_box, ellipse_coverage

    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(200):
        pose = CameraPose(np.array([rng.uniform(0.5, 5), rng.uniform(0.5, 5), rng.uniform(1, 3)]),
                          rng.uniform(0, 360), rng.uniform(-10, 60), rng.uniform(-10, 10))
        cam = _camera(pose)
        horizontal = bool(rng.random() < 0.5)
        c = np.array([rng.uniform(0, 6), rng.uniform(0, 6), rng.uniform(0, 3)])
        a, b, ss = rng.uniform(0.01, 1.5), rng.uniform(0.01, 1.5), int(rng.integers(1, 7))
        box = np.zeros(4, dtype=np.int64)
        if not ellipse_box(pose.position_m, c, a, b, horizontal, cam.rotation, cam.focal_px, 120, 160, box):
            continue
        cov = ellipse_coverage(pose.position_m, c, a, b, horizontal, cam.rotation, cam.focal_px, 120, 160, ss, box)
        r0, r1, c0, c1 = box
        n, u, v = _plane_axes(pose.position_m, c, horizontal)
        rows = (np.arange(r0, r1)[:, None] + (np.arange(ss) + 0.5) / ss).reshape(-1)
        cols = (np.arange(c0, c1)[:, None] + (np.arange(ss) + 0.5) / ss).reshape(-1)
        x, y = np.meshgrid((cols - 80.0) / cam.focal_px, -(rows - 60.0) / cam.focal_px)
        d = np.stack([x, y, np.ones_like(x)], axis=-1) @ cam.rotation.T
        g = pose.position_m - c
        nd = d @ n
        alpha, beta = (g @ u) * nd - (g @ n) * (d @ u), (g @ v) * nd - (g @ n) * (d @ v)
        inside = ((alpha / a) ** 2 + (beta / b) ** 2 <= nd**2) & (-(g @ n) * nd > 0)
        brute = inside.reshape(r1 - r0, ss, c1 - c0, ss).mean(axis=(1, 3))
        assert_allclose(cov, brute, atol=0.5 / ss**2)  # not one sample apart
        checked += 1
    assert checked >= 50


def _disk_reading_k(diameter_px, temperature_k, cam):
    """Noise-free centre reading [K] of a blackbody disk ``diameter_px`` pixels across, 3 m ahead."""
    size = diameter_px * 3.0 / cam.focal_px
    disk = ThermalObject("spot", np.array([3.5, 2.0, 1.5]), size, size, temperature_k, emissivity=1.0)
    return render_apparent_temperature(_scene([disk]), cam, 0).max()


def test_small_targets_read_low_as_flir_warns():
    """Size-of-source effect. FLIR's guidance for the Lepton (GroupGets FAQ) and Pusnik &
    Gersak, Sensors 21 (2021) 607: a target must span at least 10 pixels for an accurate
    reading; Budzier & Gerlach, J. Sens. Sens. Syst. 10 (2021) 179: hot spots under
    4 x 4 pixels read much too low. With the PSF's wings (LEPTON35_MODEL psf_halo_*), a
    100 C disk of 10 px reads within the datasheet's +-5 C (high gain), one of 4 px reads
    more than 5 C low, and the reading rises with the size; a 600 C disk 10 px across
    reads within 1 %; the wings cost an extra few kelvin against the core alone at 5 px."""
    cam = _camera()
    readings = np.array([_disk_reading_k(d, 373.15, cam) for d in (2, 3, 4, 5, 7, 10, 15)])
    assert np.all(np.diff(readings) > 0)
    assert abs(readings[5] - 373.15) <= 5.0
    assert readings[2] < 373.15 - 5.0
    assert _disk_reading_k(10, 873.15, cam) > 873.15 - 0.01 * 600.0
    core_only = _camera(model={"psf_halo_fraction": 0.0})
    assert _disk_reading_k(5, 373.15, cam) < _disk_reading_k(5, 373.15, core_only) - 2.0


def test_psf_taps_are_normalised_with_wings_wider_than_the_core():
    """The PSF conserves radiance (taps sum to 1); the wings reach ceil(3 sigma_halo) px."""
    cam = _camera()
    taps = cam.psf_taps()
    assert_allclose(taps.sum(), 1.0, rtol=1e-12)
    assert taps.size == 2 * int(np.ceil(3 * cam.model["psf_halo_sigma_px"])) + 1
    assert_allclose(taps, taps[::-1])
    assert np.array_equal(_camera(model=NO_BLUR).psf_taps(), np.ones(1))
