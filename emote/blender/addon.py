"""The add-on's Blender classes: import operator, drag-and-drop, sidebar panel, preferences.

Thin glue: reading files is :func:`emote.export.read`, deciding what to key is
:mod:`emote.blender.plan`, keying is :mod:`emote.blender.apply`, running emote
is :mod:`emote.blender.job`. Errors from those arrive as one-line
:class:`~emote.errors.EmoteError` messages and go to ``self.report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)
from bpy_extras.io_utils import ImportHelper, poll_file_object_drop

from emote.blender.apply import ImportOptions, ImportReport, apply_animation, scene_fps
from emote.blender.job import JobStatus

#: The add-on's module name in ``context.preferences.addons`` (set by :func:`register`).
_package = __package__ or "emote.blender"

EMOTIONS = ("neutral", "happy", "sad", "surprised", "fear", "disgusted", "angry", "contempt")


# -- helpers ---------------------------------------------------------------------


def preferences(context: bpy.types.Context) -> EMOTE_AP_preferences | None:
    addon = context.preferences.addons.get(_package)
    return addon.preferences if addon is not None else None


def has_shape_keys(obj: bpy.types.Object | None) -> bool:
    return obj is not None and obj.type == "MESH" and obj.data.shape_keys is not None


def target_meshes(context: bpy.types.Context) -> list[bpy.types.Object]:
    """Selected meshes with shape keys, else the active object if it has them."""
    meshes = [o for o in context.selected_objects if has_shape_keys(o)]
    if not meshes and has_shape_keys(context.active_object):
        meshes = [context.active_object]
    return meshes


def armature_of(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The armature deforming (or parenting) a mesh, if any."""
    if obj is None:
        return None
    for mod in getattr(obj, "modifiers", ()):
        if mod.type == "ARMATURE" and mod.object is not None:
            return mod.object
    parent = obj.parent
    return parent if parent is not None and parent.type == "ARMATURE" else None


def send_report(op: bpy.types.Operator, report: ImportReport) -> None:
    """Status bar + info log: one summary line, then what the user should know."""
    op.report({"INFO"}, report.summary())
    if report.moving_unmatched:
        op.report(
            {"WARNING"},
            f"{len(report.moving_unmatched)} moving curves have no shape key: "
            + ", ".join(report.moving_unmatched),
        )
    for warning in report.warnings:
        op.report({"WARNING"}, warning)


def redraw_sidebars(context: bpy.types.Context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


# -- import ----------------------------------------------------------------------


class PoseProps:
    """Operator properties choosing where the head and eye curves go."""

    pose_object: StringProperty(
        name="Head rig",
        description="Armature (or object) turned by the head and eye curves; empty: not applied",
    )
    head_bone: StringProperty(name="Head bone", description="Empty: guessed from bone names")
    left_eye_bone: StringProperty(name="Left eye bone", description="Empty: guessed from bone names")
    right_eye_bone: StringProperty(name="Right eye bone", description="Empty: guessed from bone names")

    def draw_pose(self, context: bpy.types.Context, layout: bpy.types.UILayout) -> None:
        col = layout.column(heading="Head and eyes")
        col.prop_search(self, "pose_object", context.scene, "objects", text="Rig")
        rig = context.scene.objects.get(self.pose_object)
        if rig is not None and rig.type == "ARMATURE":
            for prop in ("head_bone", "left_eye_bone", "right_eye_bone"):
                col.prop_search(self, prop, rig.data, "bones")

    def pose_options(self, context: bpy.types.Context) -> dict:
        return {
            "pose_object": context.scene.objects.get(self.pose_object) if self.pose_object else None,
            "head_bone": self.head_bone,
            "left_eye_bone": self.left_eye_bone,
            "right_eye_bone": self.right_eye_bone,
        }


class IMPORT_ANIM_OT_emote(bpy.types.Operator, ImportHelper, PoseProps):
    """Key an emote JSON or Live Link Face CSV onto the selected meshes' ARKit shape keys"""

    bl_idname = "import_anim.emote"
    bl_label = "Import emote Animation"
    bl_options: ClassVar[set[str]] = {"REGISTER", "UNDO", "PRESET"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json;*.csv", options={"HIDDEN"})
    filepath: StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"})

    frame_rate: EnumProperty(
        name="Frame rate",
        items=(
            ("FILE", "Use File's", "Set the scene's frame rate to the animation's"),
            ("SCENE", "Resample to Scene's", "Keep the scene's frame rate and resample the curves"),
        ),
        default="FILE",
    )
    start_frame: IntProperty(
        name="Start frame", default=1, description="Frame of the animation's first frame"
    )
    set_frame_range: BoolProperty(name="Set frame range", default=True)
    add_sound: BoolProperty(
        name="Add sound strip",
        default=True,
        description="Add the source audio (recorded in the file, or beside it) so playback is in sync",
    )
    sound_path: StringProperty(
        name="Audio", subtype="FILE_PATH", description="Audio to add; empty: found from the animation file"
    )

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        self.start_frame = context.scene.frame_start
        rig = armature_of(context.active_object)
        if rig is not None and not self.pose_object:
            self.pose_object = rig.name
        if self.properties.is_property_set("filepath"):  # dropped onto the viewport
            return context.window_manager.invoke_props_dialog(self, title="Import emote Animation")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        if context.space_data is None or context.space_data.type != "FILE_BROWSER":
            layout.label(text=Path(self.filepath).name, icon="FILE")
        layout.prop(self, "frame_rate")
        layout.prop(self, "start_frame")
        layout.prop(self, "set_frame_range")
        layout.prop(self, "add_sound")
        if self.add_sound:
            layout.prop(self, "sound_path")
        self.draw_pose(context, layout)

    def execute(self, context: bpy.types.Context) -> set[str]:
        from emote.blender.plan import find_audio
        from emote.errors import EmoteError
        from emote.export import read

        meshes = target_meshes(context)
        if not meshes:
            self.report({"ERROR"}, "emote: select a mesh with ARKit-named shape keys first")
            return {"CANCELLED"}
        try:
            anim = read(self.filepath)
        except EmoteError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"{self.filepath}: {exc.strerror or exc}")
            return {"CANCELLED"}
        sound = None
        if self.add_sound:
            sound = Path(bpy.path.abspath(self.sound_path)) if self.sound_path else None
            sound = sound or find_audio(self.filepath, anim.metadata)
        options = ImportOptions(
            start_frame=self.start_frame,
            frame_rate=self.frame_rate,
            set_frame_range=self.set_frame_range,
            sound=sound,
            action_name=f"emote:{Path(self.filepath).stem}",
            **self.pose_options(context),
        )
        send_report(self, apply_animation(anim, context.scene, meshes, options))
        return {"FINISHED"}


class IO_FH_emote(bpy.types.FileHandler):
    """Drop a .json or .csv animation onto the 3D viewport to import it."""

    bl_idname = "IO_FH_emote"
    bl_label = "emote / Live Link Face animation"
    bl_import_operator = "import_anim.emote"
    bl_file_extensions = ".json;.csv"

    @classmethod
    def poll_drop(cls, context: bpy.types.Context) -> bool:
        return poll_file_object_drop(context)


def menu_import(self: bpy.types.Menu, context: bpy.types.Context) -> None:
    self.layout.operator(IMPORT_ANIM_OT_emote.bl_idname, text="emote / Live Link Face (.json, .csv)")


# -- animate from audio ------------------------------------------------------------


def _mesh_with_shape_keys(_self: bpy.types.PropertyGroup, obj: bpy.types.Object) -> bool:
    return has_shape_keys(obj)


class EmoteAnimateSettings(bpy.types.PropertyGroup):
    """The "Animate from audio" panel's inputs, saved with the scene."""

    audio: StringProperty(name="Audio", subtype="FILE_PATH", description="Speech audio (wav, flac, mp3, ogg)")
    text: StringProperty(name="Transcript", description="Optional: the words spoken, for better timing")
    emotion: EnumProperty(
        name="Emotion", items=[(e, e.capitalize(), "") for e in EMOTIONS], default="neutral"
    )
    emotion_track: StringProperty(
        name="Emotion track",
        subtype="FILE_PATH",
        description="Optional JSON emotion track (emotions over time); overrides Emotion",
    )
    intensity: FloatProperty(name="Intensity", min=0.0, max=1.0, default=0.8, subtype="FACTOR")
    engine: EnumProperty(
        name="Engine",
        items=(
            ("phonetic", "Phonetic", "Phones to visemes with coarticulation; no model weights"),
            ("neural", "Neural", "EMOTE-style network"),
        ),
        default="phonetic",
    )
    target: PointerProperty(
        name="Mesh", type=bpy.types.Object, poll=_mesh_with_shape_keys, description="Mesh to animate"
    )


class EmoteJobState(bpy.types.PropertyGroup):
    """Progress of the running job, shown by the panel (window-manager data: never saved)."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(default="")
    cancel: BoolProperty(default=False)


class EMOTE_OT_animate_audio(bpy.types.Operator):
    """Run emote on an audio file and key the result onto the mesh (Esc cancels)"""

    bl_idname = "emote.animate_audio"
    bl_label = "Animate from Audio"
    bl_options: ClassVar[set[str]] = {"REGISTER", "UNDO"}

    _job = None
    _timer = None

    def _start(self, context: bpy.types.Context) -> bool:
        from emote.blender.job import AnimateJob, AnimateRequest, emote_command
        from emote.errors import EmoteError

        settings = context.scene.emote
        if not has_shape_keys(settings.target):
            self.report({"ERROR"}, "emote: pick a mesh with ARKit-named shape keys")
            return False
        audio = Path(bpy.path.abspath(settings.audio)) if settings.audio else None
        if audio is None or not audio.is_file():
            self.report({"ERROR"}, f"{settings.audio or 'audio'}: audio file not found")
            return False
        track = Path(bpy.path.abspath(settings.emotion_track)) if settings.emotion_track else None
        prefs = preferences(context)
        request = AnimateRequest(
            audio=audio,
            emotion=settings.emotion,
            intensity=settings.intensity,
            emotion_track=track,
            engine=None if settings.engine == "phonetic" else settings.engine,  # phonetic: emote's default
            text=settings.text or None,
            fps=scene_fps(context.scene),
        )
        try:
            prefix = emote_command(
                executable=prefs.executable if prefs else "emote", python=prefs.python if prefs else ""
            )
            self._job = AnimateJob.start(prefix, request)
        except EmoteError as exc:
            self.report({"ERROR"}, str(exc))
            return False
        self._audio = audio
        state = context.window_manager.emote_job
        state.running, state.progress, state.cancel = True, 0.0, False
        state.message = f"animating {audio.name}"
        return True

    def _finish(self, context: bpy.types.Context, status: JobStatus) -> set[str]:
        from emote.errors import EmoteError
        from emote.export import read

        state = context.window_manager.emote_job
        state.running, state.progress = False, 0.0
        try:
            if status.state != "done":
                state.message = status.message
                self.report({"WARNING" if status.state == "cancelled" else "ERROR"}, status.message)
                return {"CANCELLED"}
            try:
                anim = read(status.result)
            except EmoteError as exc:
                self.report({"ERROR"}, str(exc))
                return {"CANCELLED"}
            target = context.scene.emote.target
            if not has_shape_keys(target):
                self.report({"ERROR"}, "emote: the mesh to animate is gone; pick it again")
                return {"CANCELLED"}
            rig = armature_of(target)
            options = ImportOptions(
                start_frame=context.scene.frame_start,
                frame_rate="SCENE",
                sound=self._audio,
                pose_object=rig,
                action_name=f"emote:{self._audio.stem}",
            )
            report = apply_animation(anim, context.scene, [target], options)
            state.message = f"done: {self._audio.name}, {anim.duration:.1f} s"
            send_report(self, report)
            return {"FINISHED"}
        finally:
            self._job.cleanup()
            self._job = None

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window_manager.emote_job.running:
            self.report({"WARNING"}, "emote: a job is already running")
            return {"CANCELLED"}
        if context.window is None:  # scripted, no UI to keep alive
            return self.execute(context)
        if not self._start(context):
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        state = context.window_manager.emote_job
        if event.type == "ESC" or state.cancel:
            self._job.cancel()
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        status = self._job.poll()
        state.progress = status.progress
        redraw_sidebars(context)
        if status.state == "running":
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self._finish(context, status)

    def execute(self, context: bpy.types.Context) -> set[str]:
        """Blocking run, for scripts and background mode (``bpy.ops.emote.animate_audio()``)."""
        if not self._start(context):
            return {"CANCELLED"}
        return self._finish(context, self._job.wait())


class EMOTE_OT_cancel_job(bpy.types.Operator):
    """Stop the running emote job"""

    bl_idname = "emote.cancel_job"
    bl_label = "Cancel"

    def execute(self, context: bpy.types.Context) -> set[str]:
        context.window_manager.emote_job.cancel = True
        return {"FINISHED"}


class EMOTE_OT_check_install(bpy.types.Operator):
    """Check that the configured emote can be run"""

    bl_idname = "emote.check_install"
    bl_label = "Check emote"

    def execute(self, context: bpy.types.Context) -> set[str]:
        import subprocess

        from emote.blender.job import emote_command
        from emote.errors import EmoteError

        prefs = preferences(context)
        try:
            argv = [*emote_command(executable=prefs.executable, python=prefs.python), "--version"]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        except (EmoteError, OSError, subprocess.TimeoutExpired) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        line = (out.stdout.strip() or out.stderr.strip() or f"exit status {out.returncode}").splitlines()[-1]
        self.report({"INFO"} if out.returncode == 0 else {"ERROR"}, f"emote: {line}")
        return {"FINISHED"} if out.returncode == 0 else {"CANCELLED"}


class EMOTE_PT_animate(bpy.types.Panel):
    bl_idname = "EMOTE_PT_animate"
    bl_label = "Animate from Audio"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "emote"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings, state = context.scene.emote, context.window_manager.emote_job
        col = layout.column()
        col.enabled = not state.running
        col.prop(settings, "target")
        col.prop(settings, "audio")
        col.prop(settings, "text")
        row = col.row()
        row.enabled = not settings.emotion_track
        row.prop(settings, "emotion")
        col.prop(settings, "emotion_track")
        col.prop(settings, "intensity")
        col.prop(settings, "engine")
        if state.running:
            row = layout.row()
            shown = f" {state.progress:.0%}" if state.progress > 0 else "…"  # 0: no bar from emote yet
            row.progress(factor=state.progress, type="BAR", text=state.message + shown)
            row.operator(EMOTE_OT_cancel_job.bl_idname, text="", icon="CANCEL")
        else:
            layout.operator(EMOTE_OT_animate_audio.bl_idname, icon="PLAY_SOUND")
            if state.message:
                layout.label(text=state.message)
        layout.separator()
        layout.operator(IMPORT_ANIM_OT_emote.bl_idname, text="Import File…", icon="IMPORT")


class EMOTE_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = _package

    executable: StringProperty(
        name="emote executable",
        default="emote",
        description="The emote command (a name on PATH or a full path)",
    )
    python: StringProperty(
        name="Python with emote",
        subtype="FILE_PATH",
        description="A Python interpreter with emote installed (runs 'python -m emote'); overrides the executable",
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "executable")
        layout.prop(self, "python")
        layout.operator(EMOTE_OT_check_install.bl_idname, icon="CHECKMARK")


classes = (
    EMOTE_AP_preferences,
    EmoteAnimateSettings,
    EmoteJobState,
    IMPORT_ANIM_OT_emote,
    IO_FH_emote,
    EMOTE_OT_animate_audio,
    EMOTE_OT_cancel_job,
    EMOTE_OT_check_install,
    EMOTE_PT_animate,
)


def register(package: str | None = None) -> None:
    """Register every class; ``package`` is the add-on's module name (its preferences key)."""
    global _package
    if package:
        _package = package
        EMOTE_AP_preferences.bl_idname = package
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.emote = PointerProperty(type=EmoteAnimateSettings)
    bpy.types.WindowManager.emote_job = PointerProperty(type=EmoteJobState)
    bpy.types.TOPBAR_MT_file_import.append(menu_import)


def unregister() -> None:
    bpy.types.TOPBAR_MT_file_import.remove(menu_import)
    del bpy.types.WindowManager.emote_job
    del bpy.types.Scene.emote
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
