"""Videos of an agent: record one episode to mp4 and play it inline in a notebook.

Used from ``notebooks/04_noisy_double_dqn.ipynb`` on.  Frames are streamed to
ffmpeg (through moviepy) one at a time, so a long episode never sits in memory.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np

__all__ = ["record_episode", "show_video", "show_videos"]


def record_episode(agent, env_id: str, path, seed: int = 0, noise: bool = False,
                   fps=None, env_kwargs=None) -> float:
    """Play one episode of ``env_id`` with ``agent`` and write it to the mp4 ``path``.

    Args:
        agent: an :class:`~noisy_helpers.Agent`.
        env_id: the environment (rendered with ``render_mode="rgb_array"``).
        path: the mp4 file to write (its folder is created).
        seed: the episode's reset seed.
        noise: False plays the greedy policy on μ only; True keeps the noise, redrawn as in
            training (every ``config.train_frequency`` steps, or held with
            ``noise_resample="episode"``).  The online network's noise is restored.
        fps: frames per second (default: the environment's ``render_fps``, else 30).
        env_kwargs: the environment's arguments (as given to ``train``).

    Returns the episode's return.
    """
    from moviepy.video.io.ffmpeg_writer import FFMPEG_VideoWriter

    from .training import make_env, resample_every

    # pygame renders CartPole off-screen; without a display it must not look for one.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    path = Path(path)
    if path.suffix != ".mp4":
        raise ValueError(f"path must end in .mp4, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    env = make_env(env_id, render_mode="rgb_array", env_kwargs=env_kwargs)
    from .atari import is_atari

    # An Atari step is 4 emulator frames at 60 per second: 15 steps a second is real time.
    fps = fps or (15 if is_atari(env_id) else env.metadata.get("render_fps") or 30)
    observation, _ = env.reset(seed=int(seed))
    frame = env.render()
    # moviepy 2 takes the pixel format; moviepy 1 (Colab's, 1.0.3) picks yuv420p itself for
    # libx264 frames of even sizes, the format browsers and Colab play.
    options = dict(logfile=None)
    if "pixel_format" in inspect.signature(FFMPEG_VideoWriter).parameters:
        options["pixel_format"] = "yuv420p"
    writer = FFMPEG_VideoWriter(str(path), (frame.shape[1], frame.shape[0]), fps, **options)
    episode_return, step, done = 0.0, 0, False
    every = resample_every(agent.config)
    try:
        with agent.keep_noise():
            if noise:
                agent.reset_noise()
            else:
                agent.remove_noise()
            while not done:
                writer.write_frame(np.ascontiguousarray(frame))
                action = int(agent.greedy_actions(observation[None])[0])
                observation, reward, terminated, truncated, _ = env.step(action)
                episode_return += float(reward)
                done = terminated or truncated
                frame = env.render()
                step += 1
                if noise and step % every == 0:
                    agent.reset_noise()
            writer.write_frame(np.ascontiguousarray(frame))
    finally:
        writer.close()
        env.close()
    return episode_return


def show_video(path, width: int = 400):
    """An inline, looping video player for a notebook (the mp4 is embedded in the output)."""
    from IPython.display import Video

    return Video(str(path), embed=True, width=width,
                 html_attributes="controls autoplay loop muted")


def show_videos(paths, labels, width: int = 320):
    """Several mp4 files side by side, each under its label, playing together in a loop (the
    files are embedded in the output, like :func:`show_video`).  ``paths`` and ``labels`` are
    sequences of the same length; every path must be an existing ``.mp4`` file."""
    import base64
    import html

    from IPython.display import HTML

    if isinstance(paths, (str, Path)) or isinstance(labels, str):
        raise TypeError("paths and labels must be sequences (one entry per video), got "
                        f"{type(paths).__name__} and {type(labels).__name__}")
    paths, labels = [Path(p) for p in paths], [str(label) for label in labels]
    if not paths or len(paths) != len(labels):
        raise ValueError(f"paths and labels must be non-empty and of one length, got "
                         f"{len(paths)} paths and {len(labels)} labels")
    for path in paths:
        if path.suffix != ".mp4" or not path.is_file():
            raise ValueError(f"paths must be existing .mp4 files, got {str(path)!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an int >= 1, got {width!r}")
    cells = []
    for path, label in zip(paths, labels):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        cells.append(f'<figure style="margin:0 8px"><video width="{width}" controls autoplay '
                     f'loop muted><source src="data:video/mp4;base64,{data}" type="video/mp4">'
                     f'</video><figcaption style="text-align:center">{html.escape(label)}'
                     f'</figcaption></figure>')
    return HTML('<div style="display:flex;flex-wrap:wrap">' + "".join(cells) + "</div>")
