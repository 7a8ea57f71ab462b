"""seawatch: a sovereign, federated maritime domain awareness node.

Data flows through the sub-packages in pipeline order:
sources → decode → tracks → events → store → share → serve.
"""

__version__ = "0.1.0"
