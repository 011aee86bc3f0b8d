"""Regression-only head with Double-Head's conv branch (Table XI)."""

from __future__ import annotations

from mmdet.models.backbones.resnet import Bottleneck
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.models.roi_heads.bbox_heads.double_bbox_head import BasicResBlock
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import ModuleList
from torch import Tensor, nn

__all__ = ["DoubleConvRegHead"]


@MODELS.register_module()
class DoubleConvRegHead(BBoxHead):
    """The conv (regression) branch of mmdet's ``DoubleConvFCBBoxHead`` on its own.

    RoI features (n, 256, 7, 7) -> ``BasicResBlock`` to ``conv_out_channels`` -> ``num_convs``
    ResNet bottlenecks -> 7x7 average pool -> linear deltas. Same layers as mmdet's Double-Head
    regressor; the classifier of Decoupled R-CNN stays the 2-FC head (Section VI-C), so no FC
    branch is built here. ``fc_reg`` starts from N(0, 0.01) as in the official
    ``DoubleDecoupledBBoxHead`` / ``DoubleRefineBBoxHead.init_weights`` (mmdet's Double-Head
    uses 0.001).

    Args:
        num_convs: number of bottleneck blocks after the residual block (4 in Double-Head).
        conv_out_channels: width of the conv branch (1024).
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (BN by default).
        init_cfg: initialisation config (default: ``fc_reg`` ~ N(0, 0.01), bias 0, as the
            official Decoupled R-CNN Double-Head heads).
        **kwargs: :class:`BBoxHead` arguments (``reg_class_agnostic``, ``bbox_coder``, ...).
    """

    def __init__(self,
                 num_convs: int = 4,
                 conv_out_channels: int = 1024,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType | None = None,
                 init_cfg: OptMultiConfig = None,
                 **kwargs) -> None:
        norm_cfg = norm_cfg or dict(type="BN")
        init_cfg = init_cfg or dict(
            type="Normal", override=dict(type="Normal", name="fc_reg", std=0.01))
        kwargs.update(with_avg_pool=True, with_cls=False, with_reg=True)
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.res_block = BasicResBlock(
            self.in_channels, conv_out_channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv_branch = ModuleList([
            Bottleneck(inplanes=conv_out_channels, planes=conv_out_channels // 4,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            for _ in range(num_convs)
        ])
        box_dim = self.bbox_coder.encode_size
        out_dim = box_dim if self.reg_class_agnostic else box_dim * self.num_classes
        self.fc_reg = nn.Linear(conv_out_channels, out_dim)

    def forward(self, x: Tensor) -> tuple[None, Tensor]:
        """Deltas (n, 4) or (n, 4 * num_classes) for RoI features (n, C, 7, 7)."""
        x = self.res_block(x)
        for conv in self.conv_branch:
            x = conv(x)
        x = self.avg_pool(x).flatten(1) if x.numel() > 0 else x.mean(dim=(-1, -2))
        return None, self.fc_reg(x)
