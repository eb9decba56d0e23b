"""The model's arithmetic as pure numpy functions: no Mesa, no files, no scenario objects.

``core`` (war, talks, deterrence), ``theory`` (textbook bargaining solutions), and the classic
engines ``bdm`` (Bueno de Mesquita's expected utility), ``smp`` (KTAB's Spatial Model of Politics)
and ``exchange`` (Stokman's exchange model, as in Decide).
"""
