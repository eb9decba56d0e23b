"""The field's established bargaining models as pure numpy engines (no Mesa).

Each module implements one model round by round, so a Mesa protocol can advance it one step per
model step: ``bdm`` (Bueno de Mesquita's expected-utility model), ``smp`` (KAPSARC's Spatial Model
of Politics) and ``exchange`` (Stokman & Van Oosten's exchange model). Each is validated against
published reference outputs in ``tests/fixtures/``.
"""
