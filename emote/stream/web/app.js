// emote live: microphone or file -> WebSocket /ws -> frames -> morph targets of a GLB head (three.js, WebGL).
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };

// State the page exposes for tests and tools: frames received, the morph weights shown, a trace.
// received: [frame, JawOpen] per frame; level: [audio seconds sent, RMS] per piece; trace: [ms, JawOpen, mesh jaw].
// language: the stream's language as the server last confirmed it (ready / updated); languages: the menu's codes.
const state = (window.emoteState = {
  ready: false, frames: 0, shown: 0, error: null, weights: {}, trace: [], level: [], received: [], sentSeconds: 0,
  language: null, languages: [],
});

// The language menu: the server says which languages it takes (one list, in Python), so the page keeps none.
fetch("/languages").then((r) => r.json()).then(({ languages }) => {
  const menu = $("language"), chosen = menu.value;
  menu.replaceChildren(...languages.map(({ code, name }) => new Option(code === "auto" ? name : `${name} · ${code}`, code)));
  menu.value = chosen;
  state.languages = languages.map(({ code }) => code);
}).catch((e) => status(`languages: ${e.message || e}`)); // the menu keeps "auto"

// -- the scene -----------------------------------------------------------------------------------
const canvas = $("view");
const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(window.devicePixelRatio);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x1d1f24);
const camera = new THREE.PerspectiveCamera(25, 1, 0.01, 10);
scene.add(new THREE.HemisphereLight(0xffffff, 0x444455, 1.6));
const key = new THREE.DirectionalLight(0xffffff, 1.8);
key.position.set(0.4, 0.6, 1.0);
scene.add(key);

let morphMeshes = []; // [{mesh, index: {channel: morphIndex}}]
let headNode = null;
let channels = [];

function fit() {
  const w = window.innerWidth, h = window.innerHeight;
  renderer.setSize(w, h, false);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
}
window.addEventListener("resize", fit);
fit();

// Morph target names are matched loosely: "JawOpen", "jawOpen", "AK_25_JawOpen", "blendShape1.jawOpen".
const squash = (name) => name.toLowerCase().replace(/^.*[.:]/, "").replace(/^ak_\d+_/, "").replace(/[^a-z]/g, "");

function loadHead(url) {
  new GLTFLoader().load(url, (gltf) => {
    if (state.root) scene.remove(state.root);
    state.root = gltf.scene;
    scene.add(gltf.scene);
    morphMeshes = [];
    headNode = gltf.scene.getObjectByName("emote_head") || null;
    gltf.scene.traverse((o) => {
      if (o.isMesh && o.morphTargetDictionary) {
        const index = {};
        for (const [name, i] of Object.entries(o.morphTargetDictionary)) index[squash(name)] = i;
        morphMeshes.push({ mesh: o, index });
      }
    });
    const box = new THREE.Box3().setFromObject(gltf.scene);
    const centre = box.getCenter(new THREE.Vector3()), size = box.getSize(new THREE.Vector3());
    camera.position.set(centre.x, centre.y + size.y * 0.05, centre.z + size.y * 2.6);
    camera.lookAt(centre);
    state.morphTargets = morphMeshes.reduce((n, m) => n + Object.keys(m.index).length, 0);
    status(`head loaded: ${state.morphTargets} morph targets`);
  }, undefined, (err) => status(`cannot load the head: ${err.message || err}`));
}
loadHead("/head.glb");

// Drop a GLB onto the page to animate it instead.
window.addEventListener("dragover", (e) => { e.preventDefault(); $("drop").style.display = "block"; });
window.addEventListener("dragleave", () => { $("drop").style.display = "none"; });
window.addEventListener("drop", (e) => {
  e.preventDefault();
  $("drop").style.display = "none";
  const f = e.dataTransfer.files[0];
  if (f) loadHead(URL.createObjectURL(f));
});

// -- frames: a small play-out buffer so bursts from the server become a steady animation ----------
const queue = [];
let clockStart = null; // performance.now() at which frame `firstIndex` is due
let firstIndex = 0;
const BUFFER_MS = 60;

function apply(values) {
  const w = {};
  channels.forEach((name, i) => { w[name] = values[i]; });
  for (const { mesh, index } of morphMeshes) {
    channels.forEach((name, i) => {
      const k = index[squash(name)];
      if (k !== undefined && i < 52) mesh.morphTargetInfluences[k] = values[i];
    });
  }
  if (headNode) {
    const [yaw, pitch, roll] = [w.HeadYaw || 0, w.HeadPitch || 0, w.HeadRoll || 0];
    headNode.rotation.set(pitch, yaw, -roll, "YXZ");
  }
  state.weights = w;
  state.shown += 1;
  const influence = morphMeshes.length ? morphMeshes[0].mesh.morphTargetInfluences : [];
  const jawIndex = morphMeshes.length ? morphMeshes[0].index["jawopen"] : undefined;
  state.trace.push([performance.now(), w.JawOpen || 0, jawIndex !== undefined ? influence[jawIndex] : null]);
  if (state.trace.length > 5000) state.trace.shift();
}

function tick(now) {
  if (clockStart !== null) {
    let latest = null;
    while (queue.length && queue[0].due <= now) latest = queue.shift();
    if (latest) apply(latest.values);
  }
  renderer.render(scene, camera);
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

// -- the connection ------------------------------------------------------------------------------
let ws = null, source = null;

function connect(sampleRate) {
  sendRate = sampleRate;
  return new Promise((resolve, reject) => {
    ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify({
      type: "start", sample_rate: sampleRate, fps: 30, engine: $("engine").value,
      emotion: $("emotion").value, intensity: Number($("intensity").value), language: $("language").value,
    }));
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "ready") { channels = msg.channels; state.ready = true; state.language = msg.language; resolve(); }
      else if (msg.type === "updated") state.language = msg.language;
      else if (msg.type === "frames") {
        const now = performance.now();
        if (clockStart === null) { clockStart = now + BUFFER_MS; firstIndex = msg.first; }
        const jaw = channels.indexOf("JawOpen");
        msg.values.forEach((values, k) => {
          const due = clockStart + ((msg.first + k - firstIndex) * 1000) / msg.fps;
          queue.push({ due: Math.max(due, now), values });
          state.received.push([msg.first + k, values[jaw]]);
        });
        if (state.received.length > 20000) state.received.splice(0, state.received.length - 20000);
        state.frames += msg.values.length;
        status(`streaming: ${state.frames} frames`);
      } else if (msg.type === "error") { state.error = msg.message; status(`error: ${msg.message}`); reject(msg.message); }
      else if (msg.type === "end") status(`done: ${state.frames} frames`);
    };
    ws.onerror = () => reject("connection failed");
    ws.onclose = () => { $("stop").disabled = true; };
  });
}

let sendRate = 48000;

function sendAudio(samples) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength));
  let sum = 0;
  for (const s of samples) sum += s * s;
  state.level.push([state.sentSeconds, Math.sqrt(sum / Math.max(samples.length, 1))]);
  state.sentSeconds += samples.length / sendRate;
  if (state.level.length > 20000) state.level.shift();
}

async function startMic() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false } });
  const ctx = new AudioContext();
  await connect(ctx.sampleRate);
  const input = ctx.createMediaStreamSource(stream);
  // ScriptProcessor: deprecated but universal, and needs no worklet file; 2048 samples ~ 43 ms at 48 kHz.
  const proc = ctx.createScriptProcessor(2048, 1, 1);
  proc.onaudioprocess = (e) => sendAudio(new Float32Array(e.inputBuffer.getChannelData(0)));
  input.connect(proc);
  proc.connect(ctx.destination);
  source = { stop: () => { proc.disconnect(); stream.getTracks().forEach((t) => t.stop()); ctx.close(); } };
  $("stop").disabled = false;
  status("listening...");
}

async function startFile(file) {
  const ctx = new AudioContext();
  const audio = await ctx.decodeAudioData(await file.arrayBuffer());
  await connect(audio.sampleRate);
  const player = ctx.createBufferSource();
  player.buffer = audio;
  player.connect(ctx.destination);
  const mono = audio.getChannelData(0);
  const piece = Math.round(audio.sampleRate * 0.02);
  const t0 = performance.now();
  player.start();
  let at = 0;
  // Send at the audio's own pace, so the face moves with what is heard.
  const timer = setInterval(() => {
    const due = Math.min(mono.length, Math.round(((performance.now() - t0) / 1000) * audio.sampleRate));
    while (at + piece <= due || (due === mono.length && at < due)) {
      sendAudio(mono.slice(at, Math.min(at + piece, mono.length)));
      at += piece;
    }
    if (at >= mono.length) { clearInterval(timer); ws.send(JSON.stringify({ type: "end" })); }
  }, 20);
  source = { stop: () => { clearInterval(timer); player.stop(); ctx.close(); } };
  $("stop").disabled = false;
}

$("mic").onclick = () => startMic().catch((e) => status(`microphone: ${e.message || e}`));
$("file").onchange = (e) => e.target.files[0] && startFile(e.target.files[0]).catch((err) => status(`file: ${err.message || err}`));
$("stop").onclick = () => {
  if (source) source.stop();
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end" }));
};
const sendSettings = () => ws && ws.readyState === WebSocket.OPEN &&
  ws.send(JSON.stringify({ type: "set", emotion: $("emotion").value, intensity: Number($("intensity").value),
                           engine: $("engine").value, language: $("language").value }));
$("emotion").onchange = sendSettings;
$("intensity").onchange = sendSettings;
$("engine").onchange = sendSettings; // mid-stream: the face crossfades to the other engine
$("language").onchange = sendSettings;

// ?autostart=mic starts listening at once (the headless browser test uses a fake microphone).
if (new URLSearchParams(location.search).get("autostart") === "mic") startMic().catch((e) => { state.error = String(e.message || e); status(state.error); });
